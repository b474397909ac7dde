//! Where Shortly keeps its links: the [`Store`] trait and its three backends.
//!
//! - [`MemoryStore`]: a few maps behind a mutex; links are gone when the server stops.
//! - [`FileStore`], the default of `main`: an append-only log in a local file
//!   (`shortly.db`), so links survive a restart and nothing else needs installing.
//! - [`RedisStore`], chosen by `REDIS_URL`: the keys of Werkzeug's tutorial
//!   (`last-url-id`, `url-target:<id>`, `reverse-url:<url>`, `click-count:<id>`).
//!
//! This module knows nothing about HTTP; the views in `views.rs` turn a [`StoreError`]
//! into a 500 page.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard};

mod file_store;
mod redis_store;

pub use file_store::FileStore;
pub use redis_store::RedisStore;

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

/// Links kept in memory: the store to start with, and the one unit tests use. They are
/// gone when the server stops (or the reloader restarts it).
#[derive(Default)]
pub struct MemoryStore {
    links: Mutex<Links>,
}

/// The four maps of Werkzeug's tutorial, by their Redis key prefixes.
#[derive(Default)]
struct Links {
    last_url_id: u64,
    targets: HashMap<String, String>,
    reverse: HashMap<String, String>,
    clicks: HashMap<String, u64>,
}

impl Links {
    /// Records a new link under the next id, and returns the id.
    fn add(&mut self, url: &str) -> String {
        self.last_url_id += 1;
        let short_id = base36_encode(self.last_url_id);
        self.targets.insert(short_id.clone(), url.to_owned());
        self.reverse.insert(url.to_owned(), short_id.clone());
        short_id
    }
}

impl Store for MemoryStore {
    fn insert_url(&self, url: &str) -> Result<String, StoreError> {
        let mut links = lock(&self.links);
        match links.reverse.get(url) {
            Some(short_id) => Ok(short_id.clone()),
            None => Ok(links.add(url)),
        }
    }

    fn get_target(&self, short_id: &str) -> Result<Option<String>, StoreError> {
        Ok(lock(&self.links).targets.get(short_id).cloned())
    }

    fn incr_clicks(&self, short_id: &str) -> Result<(), StoreError> {
        *lock(&self.links)
            .clicks
            .entry(short_id.to_owned())
            .or_insert(0) += 1;
        Ok(())
    }

    fn click_count(&self, short_id: &str) -> Result<u64, StoreError> {
        Ok(lock(&self.links).clicks.get(short_id).copied().unwrap_or(0))
    }
}

/// A poisoned mutex only means another request panicked while holding it; the maps are
/// still whole, so carry on with them as they are.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The database failed: a file could not be read or written, or Redis is unreachable.
#[derive(Debug)]
pub enum StoreError {
    /// Reading or writing the local file failed.
    Io(std::io::Error),
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

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
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

    #[test]
    fn memory_store_shortens_reuses_and_counts() {
        let store = MemoryStore::default();
        assert_eq!(store.insert_url("https://a.example/").unwrap(), "1");
        assert_eq!(store.insert_url("https://b.example/").unwrap(), "2");
        assert_eq!(store.insert_url("https://a.example/").unwrap(), "1");
        assert_eq!(
            store.get_target("2").unwrap().as_deref(),
            Some("https://b.example/")
        );
        assert_eq!(store.get_target("3").unwrap(), None);
        store.incr_clicks("1").unwrap();
        store.incr_clicks("1").unwrap();
        assert_eq!(store.click_count("1").unwrap(), 2);
        assert_eq!(store.click_count("2").unwrap(), 0);
    }
}
