//! [`FileStorage`]: one uploaded file from a multipart form.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use http::HeaderMap;

/// An uploaded file: its field name, the client's file name, content type, part headers
/// and its bytes (in memory or spooled to a temporary file).
///
/// # Examples
///
/// ```
/// use zeug::datastructures::FileStorage;
///
/// let f = FileStorage::from_bytes("doc", Some("a.txt"), Some("text/plain"), b"hello".to_vec());
/// assert_eq!(f.filename(), Some("a.txt"));
/// assert_eq!(f.size(), 5);
/// ```
pub struct FileStorage {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    headers: HeaderMap,
    data: Vec<u8>,
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
            data,
        }
    }

    /// The form field name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file name the client sent, if any.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The part's content type, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The part's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// A reader over the file's bytes.
    pub fn reader(&self) -> io::Result<impl Read + '_> {
        Ok(&self.data[..])
    }

    /// Writes the file to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        std::fs::write(path, &self.data)
    }
}

impl fmt::Debug for FileStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStorage")
            .field("name", &self.name)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("size", &self.size())
            .finish()
    }
}
