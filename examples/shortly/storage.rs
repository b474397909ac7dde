//! Where Shortly keeps its links: the [`Store`] trait and its two backends.
//!
//! - [`FileStore`], the default: an append-only log in a local file (`shortly.db`), so
//!   `cargo run --example shortly` needs nothing else installed and links survive a restart.
//! - [`RedisStore`], chosen by `REDIS_URL`: the keys of Werkzeug's tutorial
//!   (`last-url-id`, `url-target:<id>`, `reverse-url:<url>`, `click-count:<id>`).
//!
//! This module knows nothing about HTTP; the views in `views.rs` turn a [`StoreError`]
//! into a 500 page.

use std::collections::HashMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What the app needs from a database: four operations, each atomic on its own.
pub trait Store: Send + Sync + 'static {
    /// The short id of `url`: the existing one if `url` was shortened before, else a new
    /// id (the next value of a counter, in base 36).
    fn insert_url(&self, url: &str) -> Result<String, StoreError>;
    /// The URL behind `short_id`, or `None` if there is no such link.
    fn get_target(&self, short_id: &str) -> Result<Option<String>, StoreError>;
    /// Counts one click on `short_id`.
    fn incr_clicks(&self, short_id: &str) -> Result<(), StoreError>;
    /// How often `short_id` has been followed.
    fn click_count(&self, short_id: &str) -> Result<u64, StoreError>;
}

/// The database failed: a file could not be read or written, or Redis is unreachable.
#[derive(Debug)]
pub enum StoreError {
    /// Reading or writing the local file failed.
    Io(io::Error),
    /// Talking to Redis failed.
    Redis(redis::RedisError),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io(e) => write!(f, "storage file: {e}"),
            StoreError::Redis(e) => write!(f, "redis: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<io::Error> for StoreError {
    fn from(e: io::Error) -> Self {
        StoreError::Io(e)
    }
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        StoreError::Redis(e)
    }
}

/// The store `main` uses: Redis when `REDIS_URL` is set, else the file named by
/// `SHORTLY_DB` (default `shortly.db` in the working directory).
pub fn store_from_env() -> Result<Box<dyn Store>, StoreError> {
    match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => Ok(Box::new(RedisStore::open(&url)?)),
        _ => {
            let path = std::env::var_os("SHORTLY_DB").unwrap_or_else(|| "shortly.db".into());
            Ok(Box::new(FileStore::open(path)?))
        }
    }
}

/// Writes `number` in base 36 (`0-9a-z`), the way short ids look: 1 → "1", 36 → "10".
pub fn base36_encode(mut number: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(number % 36) as usize]);
        number /= 36;
        if number == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("base 36 digits are ASCII")
}

// ---------------------------------------------------------------------------------------
// The file store
// ---------------------------------------------------------------------------------------

/// Links kept in an append-only log file, one JSON record a line:
///
/// ```text
/// {"op":"url","id":"1","target":"https://example.com/"}
/// {"op":"click","id":"1"}
/// ```
///
/// Every change is one `write` of a whole line to a file opened for appending, followed by
/// `fsync`, so a crash loses at most the change in flight and never garbles older ones (a
/// torn last line is cut off before the next write). A `Mutex` orders the threads of one
/// process; an exclusive `flock` on the file orders processes (the server's multi-process
/// mode, or two copies of the app on one file), and each operation first replays what other
/// processes appended since it last looked.
pub struct FileStore {
    path: PathBuf,
    state: Mutex<FileState>,
}

struct FileState {
    file: File,
    /// How many bytes of the log are applied to `data`.
    applied: u64,
    data: Links,
}

#[derive(Default)]
struct Links {
    last_url_id: u64,
    targets: HashMap<String, String>,
    reverse: HashMap<String, String>,
    clicks: HashMap<String, u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Url { id: String, target: String },
    Click { id: String },
}

impl Links {
    fn apply(&mut self, record: Record) {
        match record {
            Record::Url { id, target } => {
                self.last_url_id += 1;
                self.reverse.insert(target.clone(), id.clone());
                self.targets.insert(id, target);
            }
            Record::Click { id } => *self.clicks.entry(id).or_insert(0) += 1,
        }
    }
}

impl FileStore {
    /// Opens (or creates) the log at `path` and replays it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let store = FileStore {
            path,
            state: Mutex::new(FileState {
                file,
                applied: 0,
                data: Links::default(),
            }),
        };
        store.with_state(LockKind::Shared, |_| Ok(()))?;
        Ok(store)
    }

    /// The file the links live in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with this process's threads and other processes kept out, after catching
    /// up with what others appended.
    fn with_state<T>(
        &self,
        kind: LockKind,
        f: impl FnOnce(&mut FileState) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = lock(&self.state);
        let _flock = FileLock::acquire(&state.file, kind)?;
        state.catch_up(kind == LockKind::Exclusive, &self.path)?;
        f(&mut state)
    }
}

impl FileState {
    /// Applies the complete lines after `applied`. Under an exclusive lock, a torn last
    /// line (a writer crashed mid-write) is cut off so the next record starts cleanly.
    fn catch_up(&mut self, may_repair: bool, path: &Path) -> Result<(), StoreError> {
        let len = self.file.metadata()?.len();
        if len == self.applied {
            return Ok(());
        }
        if len < self.applied {
            // Someone truncated the file behind our back: start over from its contents.
            self.applied = 0;
            self.data = Links::default();
        }
        let mut tail = Vec::new();
        self.file.seek(SeekFrom::Start(self.applied))?;
        (&self.file)
            .take(len - self.applied)
            .read_to_end(&mut tail)?;
        let complete = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        for (n, line) in tail[..complete].split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Record>(line) {
                Ok(record) => self.data.apply(record),
                Err(e) => eprintln!(
                    "shortly: skipping a damaged record in {} (line {} after byte {}): {e}",
                    path.display(),
                    n + 1,
                    self.applied
                ),
            }
        }
        self.applied += complete as u64;
        if may_repair && complete < tail.len() {
            self.file.set_len(self.applied)?;
        }
        Ok(())
    }

    fn append(&mut self, record: Record) -> Result<(), StoreError> {
        let mut line = serde_json::to_vec(&record).map_err(io::Error::from)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        self.applied += line.len() as u64;
        self.data.apply(record);
        Ok(())
    }
}

impl Store for FileStore {
    fn insert_url(&self, url: &str) -> Result<String, StoreError> {
        self.with_state(LockKind::Exclusive, |state| {
            if let Some(id) = state.data.reverse.get(url) {
                return Ok(id.clone());
            }
            let id = base36_encode(state.data.last_url_id + 1);
            state.append(Record::Url {
                id: id.clone(),
                target: url.to_owned(),
            })?;
            Ok(id)
        })
    }

    fn get_target(&self, short_id: &str) -> Result<Option<String>, StoreError> {
        self.with_state(LockKind::Shared, |state| {
            Ok(state.data.targets.get(short_id).cloned())
        })
    }

    fn incr_clicks(&self, short_id: &str) -> Result<(), StoreError> {
        self.with_state(LockKind::Exclusive, |state| {
            state.append(Record::Click {
                id: short_id.to_owned(),
            })
        })
    }

    fn click_count(&self, short_id: &str) -> Result<u64, StoreError> {
        self.with_state(LockKind::Shared, |state| {
            Ok(state.data.clicks.get(short_id).copied().unwrap_or(0))
        })
    }
}

/// A poisoned mutex only means another request panicked; the log on disk is still whole,
/// so carry on with the state as it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LockKind {
    Shared,
    Exclusive,
}

/// An advisory `flock` held until dropped (a no-op where there is no `flock`). It keeps
/// the raw descriptor, not a borrow, so the state behind the mutex stays usable; the
/// mutex guard outlives it, and with it the file.
struct FileLock {
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
}

impl FileLock {
    #[cfg(unix)]
    fn acquire(file: &File, kind: LockKind) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        let op = match kind {
            LockKind::Shared => libc::LOCK_SH,
            LockKind::Exclusive => libc::LOCK_EX,
        };
        loop {
            // SAFETY: flock only takes a descriptor number; `file` keeps it open.
            if unsafe { libc::flock(fd, op) } == 0 {
                return Ok(FileLock { fd });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    #[cfg(not(unix))]
    fn acquire(_file: &File, _kind: LockKind) -> io::Result<Self> {
        Ok(FileLock {})
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: as above; the lock is dropped before the guard that owns the file.
        #[cfg(unix)]
        unsafe {
            libc::flock(self.fd, libc::LOCK_UN);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The Redis store
// ---------------------------------------------------------------------------------------

/// How long to wait for Redis to accept a connection.
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one Redis command may take before the request fails with a 500.
pub const REDIS_IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Links kept in Redis under the tutorial's keys. Connections are reused from a small
/// pool of idle ones, so requests on different threads do not queue behind one socket.
pub struct RedisStore {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`) and checks the server answers, so a wrong
    /// `REDIS_URL` fails at start-up rather than on the first request.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let store = RedisStore {
            client: redis::Client::open(url)?,
            idle: Mutex::new(Vec::new()),
        };
        store.with_conn(|conn| redis::cmd("PING").query::<String>(conn))?;
        Ok(store)
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.idle).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = self
                    .client
                    .get_connection_with_timeout(REDIS_CONNECT_TIMEOUT)?;
                conn.set_read_timeout(Some(REDIS_IO_TIMEOUT))?;
                conn.set_write_timeout(Some(REDIS_IO_TIMEOUT))?;
                conn
            }
        };
        let result = f(&mut conn);
        if result.is_ok() || redis::ConnectionLike::is_open(&conn) {
            lock(&self.idle).push(conn);
        }
        Ok(result?)
    }
}

impl Store for RedisStore {
    fn insert_url(&self, url: &str) -> Result<String, StoreError> {
        use redis::Commands;
        let reverse_key = format!("reverse-url:{url}");
        self.with_conn(|conn| {
            if let Some(id) = conn.get::<_, Option<String>>(&reverse_key)? {
                return Ok(id);
            }
            let url_num: u64 = conn.incr("last-url-id", 1)?;
            let short_id = base36_encode(url_num);
            conn.set::<_, _, ()>(format!("url-target:{short_id}"), url)?;
            // Two requests may race to shorten the same new URL: the first to claim the
            // reverse key wins, and the loser answers with the winner's id.
            if conn.set_nx(&reverse_key, &short_id)? {
                Ok(short_id)
            } else {
                conn.get(&reverse_key)
            }
        })
    }

    fn get_target(&self, short_id: &str) -> Result<Option<String>, StoreError> {
        use redis::Commands;
        self.with_conn(|conn| conn.get(format!("url-target:{short_id}")))
    }

    fn incr_clicks(&self, short_id: &str) -> Result<(), StoreError> {
        use redis::Commands;
        self.with_conn(|conn| conn.incr(format!("click-count:{short_id}"), 1))
    }

    fn click_count(&self, short_id: &str) -> Result<u64, StoreError> {
        use redis::Commands;
        self.with_conn(|conn| {
            conn.get::<_, Option<u64>>(format!("click-count:{short_id}"))
                .map(Option::unwrap_or_default)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_counts_like_the_tutorial() {
        assert_eq!(base36_encode(0), "0");
        assert_eq!(base36_encode(1), "1");
        assert_eq!(base36_encode(35), "z");
        assert_eq!(base36_encode(36), "10");
        assert_eq!(base36_encode(36 * 36 - 1), "zz");
        assert_eq!(base36_encode(u64::MAX), "3w5e11264sgsf");
    }

    fn temp_store() -> (tempfile::TempDir, FileStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(dir.path().join("shortly.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn file_store_shortens_reuses_and_counts() {
        let (_dir, store) = temp_store();
        assert_eq!(store.insert_url("https://a.example/").unwrap(), "1");
        assert_eq!(store.insert_url("https://b.example/").unwrap(), "2");
        assert_eq!(store.insert_url("https://a.example/").unwrap(), "1");
        assert_eq!(
            store.get_target("2").unwrap().as_deref(),
            Some("https://b.example/")
        );
        assert_eq!(store.get_target("3").unwrap(), None);
        assert_eq!(store.click_count("1").unwrap(), 0);
        store.incr_clicks("1").unwrap();
        store.incr_clicks("1").unwrap();
        assert_eq!(store.click_count("1").unwrap(), 2);
        assert_eq!(store.click_count("2").unwrap(), 0);
    }

    #[test]
    fn file_store_ids_go_on_in_base36() {
        let (_dir, store) = temp_store();
        let ids: Vec<String> = (0..40)
            .map(|i| store.insert_url(&format!("https://e.example/{i}")).unwrap())
            .collect();
        assert_eq!(ids[9], "a");
        assert_eq!(ids[35], "10");
        assert_eq!(ids[39], "14");
    }

    #[test]
    fn file_store_survives_a_reopen() {
        let (dir, store) = temp_store();
        let id = store.insert_url("https://keep.example/").unwrap();
        store.incr_clicks(&id).unwrap();
        drop(store);
        let store = FileStore::open(dir.path().join("shortly.db")).unwrap();
        assert_eq!(
            store.get_target(&id).unwrap().as_deref(),
            Some("https://keep.example/")
        );
        assert_eq!(store.click_count(&id).unwrap(), 1);
        assert_eq!(store.insert_url("https://next.example/").unwrap(), "2");
    }

    #[test]
    fn file_store_keeps_odd_urls_intact() {
        let (dir, store) = temp_store();
        let odd = "https://x.example/a\"b\\c\nd\u{2028}é";
        let id = store.insert_url(odd).unwrap();
        drop(store);
        let store = FileStore::open(dir.path().join("shortly.db")).unwrap();
        assert_eq!(store.get_target(&id).unwrap().as_deref(), Some(odd));
    }

    #[test]
    fn file_store_cuts_off_a_torn_last_line() {
        let (dir, store) = temp_store();
        store.insert_url("https://one.example/").unwrap();
        drop(store);
        let path = dir.path().join("shortly.db");
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"op":"url","id":"2","tar"#).unwrap();
        drop(file);
        let store = FileStore::open(&path).unwrap();
        assert_eq!(store.get_target("2").unwrap(), None);
        assert_eq!(store.insert_url("https://two.example/").unwrap(), "2");
        drop(store);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let store = FileStore::open(&path).unwrap();
        assert_eq!(
            store.get_target("2").unwrap().as_deref(),
            Some("https://two.example/")
        );
    }

    #[test]
    fn file_store_skips_a_damaged_line_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shortly.db");
        std::fs::write(
            &path,
            "{\"op\":\"url\",\"id\":\"1\",\"target\":\"https://a.example/\"}\n\
             not json\n\
             {\"op\":\"click\",\"id\":\"1\"}\n",
        )
        .unwrap();
        let store = FileStore::open(&path).unwrap();
        assert_eq!(store.click_count("1").unwrap(), 1);
        assert_eq!(
            store.get_target("1").unwrap().as_deref(),
            Some("https://a.example/")
        );
    }

    #[test]
    fn two_file_stores_on_one_file_see_each_other() {
        // Two handles on one file behave like two server processes.
        let (dir, first) = temp_store();
        let second = FileStore::open(dir.path().join("shortly.db")).unwrap();
        assert_eq!(first.insert_url("https://a.example/").unwrap(), "1");
        assert_eq!(second.insert_url("https://b.example/").unwrap(), "2");
        assert_eq!(second.insert_url("https://a.example/").unwrap(), "1");
        second.incr_clicks("1").unwrap();
        first.incr_clicks("1").unwrap();
        assert_eq!(first.click_count("1").unwrap(), 2);
        assert_eq!(
            first.get_target("2").unwrap().as_deref(),
            Some("https://b.example/")
        );
    }

    #[test]
    fn file_store_is_consistent_under_concurrent_writers() {
        let (dir, first) = temp_store();
        let second = FileStore::open(dir.path().join("shortly.db")).unwrap();
        let stores = [std::sync::Arc::new(first), std::sync::Arc::new(second)];
        let id = stores[0].insert_url("https://hot.example/").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let store = stores[t % 2].clone();
                let id = id.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        store.incr_clicks(&id).unwrap();
                        store
                            .insert_url(&format!("https://u.example/{}", i % 10))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(stores[0].click_count(&id).unwrap(), 200);
        assert_eq!(stores[1].click_count(&id).unwrap(), 200);
        // Ten distinct URLs, each shortened once, whichever handle got there first.
        let reopened = FileStore::open(dir.path().join("shortly.db")).unwrap();
        assert_eq!(reopened.insert_url("https://new.example/").unwrap(), "c");
        let mut ids: Vec<String> = (0..10)
            .map(|i| {
                reopened
                    .insert_url(&format!("https://u.example/{i}"))
                    .unwrap()
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 10);
    }
}
