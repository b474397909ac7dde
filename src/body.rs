//! Response bodies: the WSGI "iterable", made explicit.
//!
//! A [`Body`] is pulled by whoever serves the response (a server, the test client, a
//! middleware), never pushed by the app. It owns no headers: `Content-Length` and
//! `Transfer-Encoding` are the server's business, decided from [`Body::len`].
//!
//! It also keeps the server's budget for request bodies read whole into memory
//! (`BodyBudget`, used by `Request::get_data`), so that many large uploads at once cost
//! bounded memory.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::datastructures::Text;

/// A stream of body chunks, the equivalent of a WSGI iterable yielding byte strings.
pub type ChunkStream = Box<dyn Iterator<Item = io::Result<Bytes>> + Send + 'static>;

/// The body of a [`Response`](crate::Response).
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use zeug::Body;
///
/// let full = Body::from("hello");
/// assert_eq!(full.len(), Some(5));
///
/// let streamed = Body::from_iter(vec![Bytes::from("a"), Bytes::from("b")]);
/// assert_eq!(streamed.len(), None);
/// assert_eq!(streamed.into_bytes().unwrap(), "ab");
/// ```
#[non_exhaustive]
#[derive(Default)]
pub enum Body {
    /// No body at all (HEAD answers, 204, 304).
    #[default]
    Empty,
    /// The whole body in memory; its length is known.
    Bytes(Bytes),
    /// Chunks produced on demand (streaming, server-sent events); length unknown, so a
    /// server sends it chunked on HTTP/1.1.
    Stream(ChunkStream),
    /// A region of an open file, so a server can use `sendfile` (WSGI's `wsgi.file_wrapper`).
    File(FileBody),
    /// No body: after the `101 Switching Protocols` head, the server hands the connection
    /// to this function (WebSockets). Read as bytes, it is empty and the function is dropped.
    Upgrade(crate::upgrade::Upgrade),
}

/// A region of an open file served as a body.
///
/// # Examples
///
/// ```no_run
/// use zeug::body::FileBody;
///
/// let file = std::fs::File::open("Cargo.toml").unwrap();
/// let body = FileBody::whole(file).unwrap();
/// assert!(body.len() > 0);
/// ```
pub struct FileBody {
    file: File,
    offset: u64,
    len: u64,
}

impl FileBody {
    /// The whole file, from its start to its current length.
    pub fn whole(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileBody {
            file,
            offset: 0,
            len,
        })
    }

    /// `len` bytes of `file` starting at `offset` (used for `206 Partial Content`).
    pub fn range(file: File, offset: u64, len: u64) -> Self {
        FileBody { file, offset, len }
    }

    /// The open file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the served region starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes are served.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Narrows the region to `len` bytes starting `start` bytes into it.
    pub fn narrow(self, start: u64, len: u64) -> Self {
        let start = start.min(self.len);
        let len = len.min(self.len - start);
        FileBody {
            file: self.file,
            offset: self.offset + start,
            len,
        }
    }

    /// Turns the region into a reader positioned at its start.
    pub fn into_reader(mut self) -> io::Result<impl Read + Send> {
        self.file.seek(SeekFrom::Start(self.offset))?;
        Ok(self.file.take(self.len))
    }

    /// Splits into the file, offset and length, for a server that sends it itself.
    pub fn into_parts(self) -> (File, u64, u64) {
        (self.file, self.offset, self.len)
    }
}

impl fmt::Debug for FileBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileBody")
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Body::Empty
    }

    /// A streaming body from any iterator of chunks.
    ///
    /// # Examples
    ///
    /// ```
    /// let body = zeug::Body::from_iter((1..=3).map(|i| format!("{i}\n")));
    /// assert_eq!(body.into_bytes().unwrap(), "1\n2\n3\n");
    /// ```
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<I, T>(chunks: I) -> Self
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
        T: Into<Bytes>,
    {
        Body::Stream(Box::new(chunks.into_iter().map(|c| Ok(c.into()))))
    }

    /// A streaming body from an iterator of fallible chunks; an error ends the response
    /// early (the server closes the connection).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// let body = zeug::Body::from_results(vec![Ok(Bytes::from("x"))]);
    /// assert_eq!(body.into_bytes().unwrap(), "x");
    /// ```
    pub fn from_results<I>(chunks: I) -> Self
    where
        I: IntoIterator<Item = io::Result<Bytes>>,
        I::IntoIter: Send + 'static,
    {
        Body::Stream(Box::new(chunks.into_iter()))
    }

    /// A streaming body read from `reader` in chunks of up to 64 KiB.
    ///
    /// # Examples
    ///
    /// ```
    /// let body = zeug::Body::from_reader(std::io::Cursor::new(b"abc".to_vec()));
    /// assert_eq!(body.into_bytes().unwrap(), "abc");
    /// ```
    pub fn from_reader(reader: impl Read + Send + 'static) -> Self {
        Body::Stream(Box::new(ReaderChunks {
            reader,
            remaining: None,
            done: false,
        }))
    }

    /// The body's length when it is known without reading it.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(b) => Some(b.len() as u64),
            Body::Stream(_) => None,
            Body::File(f) => Some(f.len),
            Body::Upgrade(_) => Some(0),
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Whether the body is a stream whose length is not known in advance.
    pub fn is_stream(&self) -> bool {
        matches!(self, Body::Stream(_))
    }

    /// The bytes of a full body, without reading anything; `None` for streams and files.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Empty => Some(&[]),
            Body::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Reads the whole body into memory (streams are drained, files read).
    pub fn into_bytes(self) -> io::Result<Bytes> {
        match self {
            Body::Empty | Body::Upgrade(_) => Ok(Bytes::new()),
            Body::Bytes(b) => Ok(b),
            Body::Stream(chunks) => {
                let mut out = Vec::new();
                for chunk in chunks {
                    out.extend_from_slice(&chunk?);
                }
                Ok(Bytes::from(out))
            }
            Body::File(f) => {
                let mut out = Vec::with_capacity(f.len as usize);
                f.into_reader()?.read_to_end(&mut out)?;
                Ok(Bytes::from(out))
            }
        }
    }

    /// Turns any body into a stream of chunks (files are read in 64 KiB chunks).
    pub fn into_chunks(self) -> ChunkStream {
        match self {
            Body::Empty | Body::Upgrade(_) => Box::new(std::iter::empty()),
            Body::Bytes(b) => Box::new(std::iter::once(Ok(b))),
            Body::Stream(s) => s,
            Body::File(f) => {
                let len = f.len;
                match f.into_reader() {
                    Ok(r) => Box::new(ReaderChunks {
                        reader: r,
                        remaining: Some(len),
                        done: false,
                    }),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            }
        }
    }
}

/// Size of the chunks read from files and readers.
pub const CHUNK_SIZE: usize = 64 * 1024;

struct ReaderChunks<R> {
    reader: R,
    /// Bytes left when known (file regions), so small files get small buffers.
    remaining: Option<u64>,
    done: bool,
}

impl<R: Read> Iterator for ReaderChunks<R> {
    type Item = io::Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let size = match self.remaining {
            Some(0) => {
                self.done = true;
                return None;
            }
            Some(left) => left.min(CHUNK_SIZE as u64) as usize,
            None => CHUNK_SIZE,
        };
        let mut buf = vec![0; size];
        loop {
            match self.reader.read(&mut buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(n) => {
                    if let Some(left) = &mut self.remaining {
                        *left = left.saturating_sub(n as u64);
                    }
                    buf.truncate(n);
                    return Some(Ok(Bytes::from(buf)));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Bytes(b) => f.debug_tuple("Body::Bytes").field(b).finish(),
            Body::Stream(_) => f.write_str("Body::Stream(..)"),
            Body::File(file) => f.debug_tuple("Body::File").field(file).finish(),
            Body::Upgrade(_) => f.write_str("Body::Upgrade(..)"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::Bytes(b)
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Body::Bytes(Bytes::from(b))
    }
}

impl From<&'static [u8]> for Body {
    fn from(b: &'static [u8]) -> Self {
        Body::Bytes(Bytes::from_static(b))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::Bytes(Bytes::from(s))
    }
}

impl From<Text> for Body {
    /// A body from a [`Text`]: an environ field or a query, form or cookie value, answered
    /// as it is.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::{Environ, Response};
    ///
    /// let app = |env: Environ| Response::new(env.path_info);
    /// let res = zeug::test::Client::new(app).get("/hello").send();
    /// assert_eq!(res.text(), "/hello");
    /// ```
    fn from(t: Text) -> Self {
        Body::from(t.into_string())
    }
}

/// A literal is served from where it lies, without a copy (as `Bytes` does); pass a
/// `String` (`text.to_owned()`) for borrowed text.
impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::Bytes(Bytes::from_static(s.as_bytes()))
    }
}

impl From<FileBody> for Body {
    fn from(f: FileBody) -> Self {
        Body::File(f)
    }
}

impl From<ChunkStream> for Body {
    fn from(s: ChunkStream) -> Self {
        Body::Stream(s)
    }
}

/// The bytes of request bodies all requests of one server may hold in memory at once
/// (`Options::max_buffered_bodies`). A server puts a handle in the environ's extensions
/// of every request with a body; `Request::get_data` reserves what it reads and the
/// reservation is given back when the request is dropped.
#[derive(Clone, Debug)]
pub(crate) struct BodyBudget(Arc<BudgetState>);

#[derive(Debug)]
struct BudgetState {
    limit: u64,
    used: AtomicU64,
}

impl BodyBudget {
    /// A budget of `limit` bytes (made by the server; without it no request has one).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn new(limit: u64) -> Self {
        BodyBudget(Arc::new(BudgetState {
            limit,
            used: AtomicU64::new(0),
        }))
    }

    /// An empty reservation on this budget, to grow with [`Reservation::grow`].
    pub(crate) fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.clone(),
            bytes: 0,
        }
    }

    /// Bytes reserved now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.0.used.load(Ordering::Acquire)
    }
}

/// Bytes taken from a [`BodyBudget`]; dropping it gives them back.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: BodyBudget,
    bytes: u64,
}

impl Reservation {
    /// Takes `more` bytes from the budget; false (and nothing taken) when they do not fit.
    pub(crate) fn grow(&mut self, more: u64) -> bool {
        let state = &self.budget.0;
        let taken = state
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more).filter(|&total| total <= state.limit)
            });
        if taken.is_ok() {
            self.bytes += more;
        }
        taken.is_ok()
    }

    /// Bytes held by this reservation.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.0.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn lengths_are_known_for_full_bodies_and_files_only() {
        assert_eq!(Body::empty().len(), Some(0));
        assert_eq!(Body::from("abc").len(), Some(3));
        assert_eq!(Body::from_iter(vec!["a"]).len(), None);
    }

    #[test]
    fn file_regions_read_only_their_range() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"0123456789").unwrap();
        let body = FileBody::whole(f).unwrap().narrow(2, 3);
        assert_eq!(Body::File(body).into_bytes().unwrap(), "234");
    }

    #[test]
    fn small_file_regions_get_small_chunks() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[1u8; 100]).unwrap();
        let body = FileBody::whole(f).unwrap().narrow(10, 20);
        let chunks: Vec<Bytes> = Body::File(body).into_chunks().map(|c| c.unwrap()).collect();
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].len(), 20);
    }

    #[test]
    fn reader_bodies_stream_in_chunks() {
        let data = vec![7u8; CHUNK_SIZE + 10];
        let chunks: Vec<_> = Body::from_reader(std::io::Cursor::new(data))
            .into_chunks()
            .collect();
        assert_eq!(chunks.len(), 2);
    }

    #[test]
    fn body_budgets_are_shared_and_given_back() {
        let budget = BodyBudget::new(100);
        let mut a = budget.reservation();
        assert!(a.grow(60));
        let mut b = budget.reservation();
        assert!(!b.grow(41), "over the budget");
        assert!(b.grow(40));
        assert_eq!((a.bytes(), budget.used()), (60, 100));
        drop(a);
        assert_eq!(budget.used(), 40);
        drop(b);
        assert_eq!(budget.used(), 0);
    }
}
