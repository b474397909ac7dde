//! Form body parsing: `application/x-www-form-urlencoded` and streaming
//! `multipart/form-data`, with the limits that keep a hostile body from exhausting memory.
//!
//! This module owns the [`Limits`] and the parsing; [`crate::Request::form`] and
//! [`crate::Request::files`] call it lazily. It does not read the body for other content
//! types. The multipart wire format is in [`MultipartReader`] (`multipart.rs`, streaming,
//! one reused buffer); this file turns its parts into text fields and
//! [`FileStorage`]s, in memory while small and spooled to temporary files above
//! [`DEFAULT_SPOOL_THRESHOLD`].
//!
//! # Limits and their defaults
//!
//! | limit | default | beyond it |
//! |---|---|---|
//! | [`Limits::max_content_length`] | none | 413, before reading when `Content-Length` says so, else as soon as the bytes read pass it |
//! | [`Limits::max_form_memory_size`] | 500 000 bytes | 413: a urlencoded body, or the text fields plus part headers of a multipart body, summed |
//! | [`Limits::max_form_parts`] | 1000 | 413 |
//! | [`MAX_PART_HEADER_SIZE`] / [`MAX_PART_HEADERS`] | 16 KiB / 32 | 413 (one part's header block) |
//! | [`DEFAULT_SPOOL_THRESHOLD`] | 500 KiB | a file is spooled to a temporary file |
//! | [`MAX_IN_MEMORY_FILES`] | 4 MiB | further files are spooled whatever their size |
//!
//! A body that ends before its close delimiter, or before its `Content-Length`, is a 400;
//! so is a malformed one.

use std::io::Read;

use bytes::Bytes;

use crate::HttpException;
use crate::datastructures::{FileStorage, MultiDict};
use crate::environ::Input;

mod content_disposition;
mod multipart;
pub(crate) mod urlencoded;

pub use multipart::{
    BUFFER_SIZE, MAX_BOUNDARY_LEN, MAX_PART_HEADER_SIZE, MAX_PART_HEADERS, MultipartReader, Part,
};

use content_disposition::Charset;

/// A file part larger than this many bytes is spooled to a temporary file (Werkzeug's
/// default, 500 KiB); smaller ones stay in memory.
pub const DEFAULT_SPOOL_THRESHOLD: u64 = 500 * 1024;

/// The most bytes of file parts one form keeps in memory; once small files add up to
/// this, the rest are spooled to temporary files too.
pub const MAX_IN_MEMORY_FILES: u64 = 4 * 1024 * 1024;

/// Size limits for request bodies and forms, per app (insert one into
/// [`Environ::extensions`](crate::Environ) from a middleware or server) or per request
/// ([`crate::Request::set_limits`]).
///
/// # Examples
///
/// ```
/// use zeug::formparser::Limits;
///
/// let limits = Limits { max_content_length: Some(16 * 1024 * 1024), ..Limits::default() };
/// assert_eq!(limits.max_form_parts, Some(1000));
/// ```
///
/// Per app: wrap the application so every environ carries the limits.
///
/// ```
/// use zeug::formparser::Limits;
/// use zeug::{test::Client, Application, Environ, Request, Response};
///
/// fn with_limits(app: impl Application, limits: Limits) -> impl Application {
///     move |mut environ: Environ| {
///         environ.extensions.insert(limits);
///         app.call(environ)
///     }
/// }
///
/// let app = with_limits(
///     |environ: Environ| {
///         let request = Request::new(environ);
///         match request.form() {
///             Ok(form) => Response::new(format!("{} fields", form.len())),
///             Err(e) => e.into_response(),
///         }
///     },
///     Limits { max_form_memory_size: Some(10), ..Limits::default() },
/// );
/// let client = Client::new(app);
/// assert_eq!(client.post("/").form(&[("a", "1")]).send().text(), "1 fields");
/// assert_eq!(client.post("/").form(&[("a", "0123456789")]).send().status(), 413);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest body accepted at all (413 beyond it, checked against `Content-Length`
    /// before anything is read). Default: `None` (no limit; buffered reads such as
    /// [`crate::Request::get_data`] use [`DEFAULT_MAX_BUFFERED`] instead).
    pub max_content_length: Option<u64>,
    /// The most bytes kept in memory for a urlencoded body, or for a multipart body's text
    /// fields and part headers, summed over the form (413 beyond it). Default: 500 000
    /// bytes, Werkzeug's figure (Werkzeug applies it per field; zeug to the whole form, so
    /// that memory is bounded whatever the number of parts).
    pub max_form_memory_size: Option<u64>,
    /// The most parts a multipart body may have (413 beyond it). Default: 1000.
    pub max_form_parts: Option<usize>,
}

/// Default for [`Limits::max_form_memory_size`].
pub const DEFAULT_MAX_FORM_MEMORY_SIZE: u64 = 500_000;
/// Default for [`Limits::max_form_parts`].
pub const DEFAULT_MAX_FORM_PARTS: usize = 1000;
/// The most bytes [`crate::Request::get_data`] buffers when no `max_content_length` is set.
pub const DEFAULT_MAX_BUFFERED: u64 = 64 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_content_length: None,
            max_form_memory_size: Some(DEFAULT_MAX_FORM_MEMORY_SIZE),
            max_form_parts: Some(DEFAULT_MAX_FORM_PARTS),
        }
    }
}

/// The text fields and files of a parsed form.
#[derive(Debug, Default)]
pub struct FormData {
    /// Text fields.
    pub form: MultiDict,
    /// Uploaded files.
    pub files: MultiDict<FileStorage>,
}

/// Whether a mimetype (without parameters, any case) is one this module parses.
///
/// # Examples
///
/// ```
/// use zeug::formparser::is_form_mimetype;
/// assert!(is_form_mimetype("multipart/form-data"));
/// assert!(is_form_mimetype("Application/X-WWW-Form-Urlencoded"));
/// assert!(!is_form_mimetype("application/json"));
/// ```
pub fn is_form_mimetype(mimetype: &str) -> bool {
    mimetype.eq_ignore_ascii_case("application/x-www-form-urlencoded")
        || mimetype.eq_ignore_ascii_case("multipart/form-data")
}

/// Parses a form body of the given `Content-Type` from `input`.
///
/// `content_length` is the declared length, if any; `input` is already limited to it.
pub fn parse_form(
    input: &mut dyn Read,
    content_type: &str,
    content_length: Option<u64>,
    limits: &Limits,
) -> Result<FormData, HttpException> {
    match form_kind(content_type)? {
        FormKind::Urlencoded => {
            let bytes = read_limited(input, content_length, urlencoded_max(limits))?;
            Ok(urlencoded_form(&bytes))
        }
        FormKind::Multipart(boundary) => parse_multipart(input, &boundary, limits),
        FormKind::Other => Ok(FormData::default()),
    }
}

/// [`parse_form`] for a request's [`Input`]: a urlencoded body already in memory (the
/// test client, `http::Request<Bytes>`) is parsed where it lies, without being copied.
pub(crate) fn parse_form_input(
    input: &mut Input,
    content_type: &str,
    content_length: Option<u64>,
    limits: &Limits,
) -> Result<FormData, HttpException> {
    if let FormKind::Urlencoded = form_kind(content_type)? {
        let bytes = read_input_limited(input, content_length, urlencoded_max(limits))?;
        return Ok(urlencoded_form(&bytes));
    }
    parse_form(input, content_type, content_length, limits)
}

fn urlencoded_form(body: &[u8]) -> FormData {
    FormData {
        form: MultiDict::from_urlencoded(body),
        files: MultiDict::new(),
    }
}

/// What [`parse_form`] does with a content type.
enum FormKind {
    Urlencoded,
    Multipart(String),
    Other,
}

/// Reads the content type: urlencoded is recognised without a full parse (it has no
/// parameter that matters), multipart needs its boundary (400 when missing).
fn form_kind(content_type: &str) -> Result<FormKind, HttpException> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Ok(FormKind::Urlencoded);
    }
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Ok(FormKind::Other);
    }
    let mime: mime::Mime = content_type
        .parse()
        .map_err(|_| HttpException::bad_request())?;
    mime.get_param(mime::BOUNDARY)
        .map(|b| FormKind::Multipart(b.as_str().to_owned()))
        .ok_or_else(|| {
            HttpException::bad_request()
                .with_description("Missing boundary in multipart content type.")
        })
}

/// The most bytes a urlencoded body may have: the smaller of the two limits.
fn urlencoded_max(limits: &Limits) -> Option<u64> {
    match (limits.max_form_memory_size, limits.max_content_length) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Parses a `multipart/form-data` body with the given boundary into text fields and
/// files, streaming: text fields are collected within `max_form_memory_size`, files are
/// kept in memory up to [`DEFAULT_SPOOL_THRESHOLD`] and spooled to temporary files above
/// it (all of them in one temporary file). A `_charset_` field (which browsers fill in for a hidden input of that name) sets
/// the charset of text fields whose part names none; UTF-8 and Latin-1 are decoded,
/// others read as UTF-8. Parts without a name are skipped. On any error every temporary
/// file made so far is removed.
///
/// # Examples
///
/// ```
/// use zeug::formparser::{parse_multipart, Limits};
///
/// let body = "--XyZ\r\n\
///     Content-Disposition: form-data; name=\"title\"\r\n\r\n\
///     Holiday\r\n\
///     --XyZ\r\n\
///     Content-Disposition: form-data; name=\"photo\"; filename=\"beach.jpg\"\r\n\
///     Content-Type: image/jpeg\r\n\r\n\
///     JPEGDATA\r\n\
///     --XyZ--\r\n";
/// let form = parse_multipart(&mut body.as_bytes(), "XyZ", &Limits::default()).unwrap();
/// assert_eq!(form.form.get("title"), Some("Holiday"));
/// let photo = form.files.get_value("photo").unwrap();
/// assert_eq!(photo.filename(), Some("beach.jpg"));
/// assert_eq!(photo.content_type(), Some("image/jpeg"));
/// assert_eq!(photo.to_vec().unwrap(), b"JPEGDATA");
/// ```
pub fn parse_multipart(
    input: &mut dyn Read,
    boundary: &str,
    limits: &Limits,
) -> Result<FormData, HttpException> {
    let mut reader = MultipartReader::new(input, boundary)?;
    reader.set_limits(limits);
    let max_memory = limits.max_form_memory_size.unwrap_or(u64::MAX);
    let too_large = || {
        HttpException::request_entity_too_large()
            .with_description("The form's fields are larger than the server accepts.")
    };
    let mut memory: u64 = 0;
    let mut file_memory: u64 = 0;
    let mut fields: Vec<(String, Vec<u8>, Option<Charset>)> = Vec::new();
    let mut files = MultiDict::new();
    // Every spooled file of this form goes into one temporary file: one descriptor.
    let mut spool = FileStorage::spool();
    reader.set_field_headers(false);
    while let Some(mut part) = reader.next_part()? {
        memory += part.header_size() as u64;
        if memory > max_memory {
            return Err(too_large());
        }
        let charset = part.charset();
        let (name, filename, content_type) = part.take_names();
        let Some(name) = name else {
            continue; // unaddressable; its data is skipped by next_part
        };
        if let Some(filename) = filename {
            let threshold =
                DEFAULT_SPOOL_THRESHOLD.min(MAX_IN_MEMORY_FILES.saturating_sub(file_memory));
            let mut builder = FileStorage::builder_in(
                &mut spool,
                &name,
                Some(&filename),
                content_type.as_deref(),
                part.take_headers(),
                threshold,
            );
            while let Some(chunk) = reader.read_chunk()? {
                builder.write_chunk(chunk).map_err(spool_error)?;
            }
            let file = builder.finish().map_err(spool_error)?;
            if !file.is_spooled() {
                file_memory += file.size();
            }
            files.add(name, file);
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = reader.read_chunk()? {
                memory += chunk.len() as u64;
                if memory > max_memory {
                    return Err(too_large());
                }
                value.extend_from_slice(chunk);
            }
            fields.push((name, value, charset));
        }
    }
    let default_charset = fields
        .iter()
        .find(|(name, _, _)| name == "_charset_")
        .and_then(|(_, value, _)| Charset::from_label(&String::from_utf8_lossy(value)))
        .unwrap_or(Charset::Utf8);
    let mut form = MultiDict::new();
    for (name, value, charset) in fields {
        form.add(name, charset.unwrap_or(default_charset).decode(value));
    }
    Ok(FormData { form, files })
}

fn spool_error(e: std::io::Error) -> HttpException {
    log::error!(target: "zeug", "could not spool an upload to a temporary file: {e}");
    HttpException::internal_server_error()
        .with_description("The upload could not be stored on the server.")
}

/// The buffer [`read_limited`] starts with for a body of unknown length.
const UNKNOWN_LENGTH_INITIAL_CAPACITY: u64 = 8 * 1024;

/// Reads `input` to the end into memory, refusing (413) more than `max` bytes; a body that
/// ends before `content_length` is a 400.
pub fn read_limited(
    input: &mut dyn Read,
    content_length: Option<u64>,
    max: Option<u64>,
) -> Result<Vec<u8>, HttpException> {
    check_declared_length(content_length, max)?;
    let cap = max.unwrap_or(u64::MAX);
    // Sized up front: the declared length, or (a chunked body) a first 8 KiB rather than
    // the dozen small regrowths `read_to_end` makes from empty; never above 1 MiB before
    // the bytes have actually arrived.
    let initial = content_length.unwrap_or(UNKNOWN_LENGTH_INITIAL_CAPACITY);
    let mut out = Vec::with_capacity(initial.min(cap.saturating_add(1)).min(1 << 20) as usize);
    let read = input.take(cap.saturating_add(1)).read_to_end(&mut out);
    if let Err(e) = read {
        log::debug!(target: "zeug", "error reading request body: {e}");
        return Err(HttpException::bad_request()
            .with_description("The request body could not be read completely."));
    }
    check_read_length(out.len(), content_length, max)?;
    Ok(out)
}

/// [`read_limited`] for a request's [`Input`]: a body already in memory is taken whole,
/// without a copy, under the same checks.
pub(crate) fn read_input_limited(
    input: &mut Input,
    content_length: Option<u64>,
    max: Option<u64>,
) -> Result<Bytes, HttpException> {
    let Some(bytes) = input.take_buffered() else {
        return read_limited(input, content_length, max).map(Bytes::from);
    };
    check_declared_length(content_length, max)?;
    check_read_length(bytes.len(), content_length, max)?;
    Ok(bytes)
}

/// 413 when the declared length is over `max`, before anything is read.
fn check_declared_length(
    content_length: Option<u64>,
    max: Option<u64>,
) -> Result<(), HttpException> {
    match (content_length, max) {
        (Some(len), Some(max)) if len > max => Err(HttpException::request_entity_too_large()),
        _ => Ok(()),
    }
}

/// 413 when more than `max` bytes came, 400 when fewer than declared.
fn check_read_length(
    read: usize,
    content_length: Option<u64>,
    max: Option<u64>,
) -> Result<(), HttpException> {
    if read as u64 > max.unwrap_or(u64::MAX) {
        return Err(HttpException::request_entity_too_large());
    }
    if let Some(len) = content_length {
        if (read as u64) < len {
            return Err(
                HttpException::bad_request().with_description("The request body ended early.")
            );
        }
    }
    Ok(())
}
