//! [`FileStorage`]: one uploaded file from a multipart form, in memory while small and
//! spooled to an anonymous temporary file above a threshold.
//!
//! This file owns where an upload's bytes live and how they are read back or saved. It
//! does not parse multipart bodies (that is [`crate::formparser`]) and does not sanitise
//! file names (that is [`crate::security::secure_filename`]).
//!
//! Temporary files are created with [`tempfile::tempfile`]: on Unix they are unlinked at
//! once, so the operating system removes them when the last [`FileStorage`] using them (or
//! a builder abandoned on an error path) is dropped, even if the process is killed. The
//! files of one form share one temporary file (each in its own 64 KiB-aligned region), so a
//! form of many files costs one file descriptor, not one per file.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use http::HeaderMap;

/// Size of the blocks spooled files are written in: every write to a temporary file is a
/// whole multiple of this many bytes at an offset that is a multiple of it (but the last).
pub const SPOOL_BLOCK_SIZE: usize = 64 * 1024;

/// An uploaded file: its field name, the client's file name, content type, part headers
/// and its bytes (in memory or spooled to a temporary file that is removed on drop).
///
/// # Examples
///
/// ```
/// use std::io::Read;
/// use zeug::datastructures::FileStorage;
///
/// let f = FileStorage::from_bytes("doc", Some("a.txt"), Some("text/plain"), b"hello".to_vec());
/// assert_eq!(f.name(), "doc");
/// assert_eq!(f.filename(), Some("a.txt"));
/// assert_eq!(f.size(), 5);
/// let mut text = String::new();
/// f.reader().unwrap().read_to_string(&mut text).unwrap();
/// assert_eq!(text, "hello");
/// ```
pub struct FileStorage {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    headers: HeaderMap,
    data: Storage,
}

enum Storage {
    Memory(Vec<u8>),
    /// `size` bytes at `offset` of a temporary file, maybe shared with other uploads.
    Spooled {
        file: Arc<File>,
        offset: u64,
        size: u64,
    },
}

impl FileStorage {
    /// A file held in memory.
    pub fn from_bytes(
        name: &str,
        filename: Option<&str>,
        content_type: Option<&str>,
        data: Vec<u8>,
    ) -> Self {
        FileStorage {
            name: name.to_owned(),
            filename: filename.map(str::to_owned),
            content_type: content_type.map(str::to_owned),
            headers: HeaderMap::new(),
            data: Storage::Memory(data),
        }
    }

    /// Starts a file to be filled chunk by chunk: in memory up to `spool_threshold` bytes,
    /// then in a temporary file. This is what the multipart parser uses; use it to build a
    /// [`FileStorage`] from your own stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::datastructures::FileStorage;
    ///
    /// let mut b = FileStorage::builder("upload", Some("big.bin"), None, Default::default(), 4);
    /// b.write_chunk(b"0123").unwrap();
    /// b.write_chunk(b"4567").unwrap();
    /// let f = b.finish().unwrap();
    /// assert!(f.is_spooled());
    /// assert_eq!(f.to_vec().unwrap(), b"01234567");
    /// ```
    pub fn builder(
        name: &str,
        filename: Option<&str>,
        content_type: Option<&str>,
        headers: HeaderMap,
        spool_threshold: u64,
    ) -> FileStorageBuilder<'static> {
        FileStorageBuilder {
            storage: FileStorage {
                name: name.to_owned(),
                filename: filename.map(str::to_owned),
                content_type: content_type.map(str::to_owned),
                headers,
                data: Storage::Memory(Vec::new()),
            },
            block: Vec::new(),
            threshold: spool_threshold,
            spool: None,
            write_pos: 0,
        }
    }

    /// A temporary file that several [`builder_in`](Self::builder_in)s fill one after the
    /// other; it is created on first use and removed when the last file in it is dropped.
    pub fn spool() -> SpoolFile {
        SpoolFile::default()
    }

    /// [`builder`](Self::builder), spooling into `spool` (shared with the other files of
    /// a form) instead of a temporary file of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::datastructures::FileStorage;
    ///
    /// let mut spool = FileStorage::spool();
    /// let mut files = Vec::new();
    /// for name in ["a", "b"] {
    ///     let mut b = FileStorage::builder_in(&mut spool, name, Some(name), None, Default::default(), 0);
    ///     b.write_chunk(name.repeat(3).as_bytes()).unwrap();
    ///     files.push(b.finish().unwrap());
    /// }
    /// assert!(files.iter().all(|f| f.is_spooled()));
    /// assert_eq!(files[1].to_vec().unwrap(), b"bbb");
    /// ```
    pub fn builder_in<'s>(
        spool: &'s mut SpoolFile,
        name: &str,
        filename: Option<&str>,
        content_type: Option<&str>,
        headers: HeaderMap,
        spool_threshold: u64,
    ) -> FileStorageBuilder<'s> {
        let mut builder = Self::builder(name, filename, content_type, headers, spool_threshold);
        builder.spool = Some(spool);
        builder
    }

    /// The form field name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name the client sent, if any: the bare name when a browser sent a full
    /// Windows path (`C:\Users\me\a.txt` → `a.txt`). Never trust it as a path; pass it
    /// through [`crate::security::secure_filename`] before saving.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The part's `Content-Type`, if the client sent one.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The content type without parameters, lower-cased (`""` when absent).
    pub fn mimetype(&self) -> String {
        self.content_type
            .as_deref()
            .and_then(|ct| ct.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The part's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        match &self.data {
            Storage::Memory(v) => v.len() as u64,
            Storage::Spooled { size, .. } => *size,
        }
    }

    /// Whether the bytes live in a temporary file rather than in memory.
    pub fn is_spooled(&self) -> bool {
        matches!(self.data, Storage::Spooled { .. })
    }

    /// A reader over the file's bytes from the start. Several readers may exist at once;
    /// each keeps its own position.
    pub fn reader(&self) -> io::Result<FileStorageReader<'_>> {
        Ok(FileStorageReader {
            storage: self,
            pos: 0,
        })
    }

    /// The whole file in memory (reads a spooled file back).
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.size().min(usize::MAX as u64) as usize);
        self.reader()?.read_to_end(&mut out)?;
        Ok(out)
    }

    /// Writes the file's bytes to `writer`; returns how many were written.
    pub fn copy_to(&self, writer: &mut dyn Write) -> io::Result<u64> {
        match &self.data {
            Storage::Memory(v) => {
                writer.write_all(v)?;
                Ok(v.len() as u64)
            }
            Storage::Spooled { .. } => {
                let mut reader = self.reader()?;
                let mut block = vec![0u8; SPOOL_BLOCK_SIZE];
                let mut total = 0u64;
                loop {
                    let n = reader.read(&mut block)?;
                    if n == 0 {
                        return Ok(total);
                    }
                    writer.write_all(&block[..n])?;
                    total += n as u64;
                }
            }
        }
    }

    /// Writes the file to `path` (created or truncated). Pass the client's name through
    /// [`crate::security::secure_filename`] first.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::datastructures::FileStorage;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let f = FileStorage::from_bytes("doc", Some("a.txt"), None, b"hi".to_vec());
    /// f.save(dir.path().join("a.txt")).unwrap();
    /// assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"hi");
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let mut out = File::create(path)?;
        self.copy_to(&mut out)?;
        out.flush()
    }
}

impl fmt::Debug for FileStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStorage")
            .field("name", &self.name)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("size", &self.size())
            .field("spooled", &self.is_spooled())
            .finish()
    }
}

/// A [`Read`] over a [`FileStorage`]'s bytes, from [`FileStorage::reader`]. Reads of a
/// spooled file are positional, so readers do not disturb each other.
#[derive(Debug)]
pub struct FileStorageReader<'a> {
    storage: &'a FileStorage,
    pos: u64,
}

impl Read for FileStorageReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.storage.data {
            Storage::Memory(v) => {
                let start = (self.pos as usize).min(v.len());
                let n = buf.len().min(v.len() - start);
                buf[..n].copy_from_slice(&v[start..start + n]);
                self.pos += n as u64;
                Ok(n)
            }
            Storage::Spooled { file, offset, size } => {
                let left = size.saturating_sub(self.pos);
                let want = (buf.len() as u64).min(left) as usize;
                if want == 0 {
                    return Ok(0);
                }
                let n = read_at(file, &mut buf[..want], offset + self.pos)?;
                self.pos += n as u64;
                Ok(n)
            }
        }
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(not(any(unix, windows)))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::io::Seek;
    let mut f = file.try_clone()?;
    f.seek(io::SeekFrom::Start(offset))?;
    f.read(buf)
}

#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, buf, offset)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(not(any(unix, windows)))]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    use std::io::Seek;
    let mut f = file.try_clone()?;
    f.seek(io::SeekFrom::Start(offset))?;
    f.write_all(buf)
}

/// A temporary file shared by the spooled uploads of one form, from
/// [`FileStorage::spool`]: each file gets the next 64 KiB-aligned region.
#[derive(Debug, Default)]
pub struct SpoolFile {
    file: Option<Arc<File>>,
    /// End of the last finished region.
    end: u64,
}

impl SpoolFile {
    /// The file (created on first use) and where the next region starts.
    fn claim(&mut self) -> io::Result<(Arc<File>, u64)> {
        let file = match &self.file {
            Some(f) => f.clone(),
            None => {
                let f = Arc::new(tempfile::tempfile()?);
                self.file = Some(f.clone());
                f
            }
        };
        let block = SPOOL_BLOCK_SIZE as u64;
        Ok((file, self.end.div_ceil(block) * block))
    }
}

/// Fills a [`FileStorage`] chunk by chunk, moving it to a temporary file once it grows
/// past the threshold; see [`FileStorage::builder`]. Dropping an unfinished builder
/// removes its temporary file.
pub struct FileStorageBuilder<'s> {
    storage: FileStorage,
    /// The pending, not yet written tail of a spooled file (less than one block).
    block: Vec<u8>,
    threshold: u64,
    /// The shared spool file, if any; else the builder makes a temporary file of its own.
    spool: Option<&'s mut SpoolFile>,
    /// Where the next block goes in the temporary file.
    write_pos: u64,
}

impl fmt::Debug for FileStorageBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStorageBuilder")
            .field("storage", &self.storage)
            .finish()
    }
}

impl FileStorageBuilder<'_> {
    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        match &self.storage.data {
            Storage::Memory(v) => v.len() as u64,
            Storage::Spooled { size, .. } => *size,
        }
    }

    /// Appends a chunk, spooling to a temporary file when the size passes the threshold.
    pub fn write_chunk(&mut self, chunk: &[u8]) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        match &mut self.storage.data {
            Storage::Memory(v) => {
                if v.len() as u64 + chunk.len() as u64 <= self.threshold {
                    v.extend_from_slice(chunk);
                    return Ok(());
                }
                let (file, offset) = match self.spool.as_deref_mut() {
                    Some(spool) => spool.claim()?,
                    None => (Arc::new(tempfile::tempfile()?), 0),
                };
                let held = std::mem::take(v);
                // Write the whole blocks already held; keep the rest as the pending block.
                let whole = held.len() / SPOOL_BLOCK_SIZE * SPOOL_BLOCK_SIZE;
                write_all_at(&file, &held[..whole], offset)?;
                self.write_pos = offset + whole as u64;
                self.block.reserve_exact(SPOOL_BLOCK_SIZE);
                self.block.extend_from_slice(&held[whole..]);
                self.storage.data = Storage::Spooled {
                    file,
                    offset,
                    size: held.len() as u64,
                };
                self.write_chunk(chunk)
            }
            Storage::Spooled { file, size, .. } => {
                *size += chunk.len() as u64;
                let mut chunk = chunk;
                if !self.block.is_empty() {
                    let take = (SPOOL_BLOCK_SIZE - self.block.len()).min(chunk.len());
                    self.block.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.block.len() < SPOOL_BLOCK_SIZE {
                        return Ok(());
                    }
                    write_all_at(file, &self.block, self.write_pos)?;
                    self.write_pos += SPOOL_BLOCK_SIZE as u64;
                    self.block.clear();
                }
                let whole = chunk.len() / SPOOL_BLOCK_SIZE * SPOOL_BLOCK_SIZE;
                if whole > 0 {
                    write_all_at(file, &chunk[..whole], self.write_pos)?;
                    self.write_pos += whole as u64;
                }
                self.block.extend_from_slice(&chunk[whole..]);
                Ok(())
            }
        }
    }

    /// Writes what is pending and returns the finished [`FileStorage`].
    pub fn finish(mut self) -> io::Result<FileStorage> {
        if let Storage::Spooled {
            file, offset, size, ..
        } = &self.storage.data
        {
            if !self.block.is_empty() {
                write_all_at(file, &self.block, self.write_pos)?;
            }
            if let Some(spool) = self.spool.as_deref_mut() {
                spool.end = offset + size;
            }
        }
        if let Storage::Memory(v) = &mut self.storage.data {
            v.shrink_to_fit();
        }
        Ok(self.storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_memory_up_to_the_threshold() {
        let mut b = FileStorage::builder("f", None, None, HeaderMap::new(), 10);
        b.write_chunk(b"0123456789").unwrap();
        let f = b.finish().unwrap();
        assert!(!f.is_spooled());
        assert_eq!(f.to_vec().unwrap(), b"0123456789");
    }

    #[test]
    fn a_shared_spool_survives_an_abandoned_builder() {
        let mut spool = FileStorage::spool();
        let mut b = FileStorage::builder_in(&mut spool, "a", None, None, HeaderMap::new(), 0);
        b.write_chunk(&[1u8; 100_000]).unwrap();
        let a = b.finish().unwrap();
        // An upload cut off half way: its region is reused by the next one.
        let mut b = FileStorage::builder_in(&mut spool, "x", None, None, HeaderMap::new(), 0);
        b.write_chunk(&[9u8; 70_000]).unwrap();
        drop(b);
        let mut b = FileStorage::builder_in(&mut spool, "c", None, None, HeaderMap::new(), 0);
        b.write_chunk(&[3u8; 5]).unwrap();
        let c = b.finish().unwrap();
        assert_eq!(a.to_vec().unwrap(), vec![1u8; 100_000]);
        assert_eq!(c.to_vec().unwrap(), vec![3u8; 5]);
        if let (Storage::Spooled { offset: oa, .. }, Storage::Spooled { offset: oc, .. }) =
            (&a.data, &c.data)
        {
            assert_eq!((*oa, *oc), (0, 2 * SPOOL_BLOCK_SIZE as u64));
        } else {
            panic!("both spooled");
        }
    }

    #[test]
    fn spools_in_blocks_and_reads_back() {
        let data: Vec<u8> = (0..(3 * SPOOL_BLOCK_SIZE + 123))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut b = FileStorage::builder("f", Some("x"), None, HeaderMap::new(), 1000);
        for chunk in data.chunks(7777) {
            b.write_chunk(chunk).unwrap();
        }
        assert!(b.block.len() < SPOOL_BLOCK_SIZE);
        let f = b.finish().unwrap();
        assert!(f.is_spooled());
        assert_eq!(f.size(), data.len() as u64);
        assert_eq!(f.to_vec().unwrap(), data);
        // Two readers keep their own positions.
        let mut r1 = f.reader().unwrap();
        let mut r2 = f.reader().unwrap();
        let mut a = [0u8; 10];
        let mut c = [0u8; 10];
        r1.read_exact(&mut a).unwrap();
        r1.read_exact(&mut a).unwrap();
        r2.read_exact(&mut c).unwrap();
        assert_eq!(&a, &data[10..20]);
        assert_eq!(&c, &data[..10]);
        let dir = tempfile::tempdir().unwrap();
        f.save(dir.path().join("out")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), data);
    }
}
