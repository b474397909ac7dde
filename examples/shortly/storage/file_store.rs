//! [`FileStore`]: Shortly's links in an append-only file, so they survive a restart.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{Links, Store, StoreError, base36_encode, lock};

/// Links kept in an append-only log file, one JSON record a line:
///
/// ```text
/// {"op":"url","id":"1","target":"https://example.com/"}
/// {"op":"click","id":"1"}
/// ```
///
/// Every change is one `write` of a whole line to a file opened for appending, followed by
/// `fsync`, so a crash loses at most the change in flight and never garbles older ones (a
/// torn last line is cut off before the next write). A `Mutex` orders the server's
/// threads. Each operation first replays what was appended since it last looked, so a
/// second process on the same file (the old server while the reloader starts the new one)
/// is seen; two processes writing at the same instant are not ordered, so run one server
/// per file.
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

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Url { id: String, target: String },
    Click { id: String },
}

impl Links {
    /// Replays one line of the log.
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
        store.with_state(|_| Ok(()))?;
        Ok(store)
    }

    /// The file the links live in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the other threads kept out, after catching up with what was appended
    /// since the last operation.
    fn with_state<T>(
        &self,
        f: impl FnOnce(&mut FileState) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut state = lock(&self.state);
        state.catch_up(&self.path)?;
        f(&mut state)
    }
}

impl FileState {
    /// Applies the complete lines after `applied`. A torn last line (a writer crashed
    /// mid-write) is cut off so the next record starts cleanly.
    fn catch_up(&mut self, path: &Path) -> Result<(), StoreError> {
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
        if complete < tail.len() {
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
        self.with_state(|state| {
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
        self.with_state(|state| Ok(state.data.targets.get(short_id).cloned()))
    }

    fn incr_clicks(&self, short_id: &str) -> Result<(), StoreError> {
        self.with_state(|state| {
            state.append(Record::Click {
                id: short_id.to_owned(),
            })
        })
    }

    fn click_count(&self, short_id: &str) -> Result<u64, StoreError> {
        self.with_state(|state| Ok(state.data.clicks.get(short_id).copied().unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // Two handles on one file, taking turns, like the old and the new server process
        // while the reloader restarts it.
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
        let (dir, store) = temp_store();
        let store = std::sync::Arc::new(store);
        let id = store.insert_url("https://hot.example/").unwrap();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
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
        assert_eq!(store.click_count(&id).unwrap(), 200);
        // Ten distinct URLs, each shortened once, whichever thread got there first.
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
