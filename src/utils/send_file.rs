//! Sending files: [`send_file`], [`send_from_directory`] and their [`FileOptions`].
//!
//! This module owns turning a file on disk into a response: mimetype, `Content-Disposition`,
//! caching headers, the `ETag`, and handing conditional requests and ranges to
//! [`Response::make_conditional`]. The body stays a [`Body::File`] region, so a server can
//! `sendfile` it. It does not decide which paths are allowed: that is
//! [`crate::security::safe_join`], called by [`send_from_directory`].

use std::fs::File;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use http::Method;
use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, ETAG, EXPIRES, HeaderValue, LAST_MODIFIED,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use unicode_normalization::UnicodeNormalization;

use crate::body::FileBody;
use crate::http_utils::http_date;
use crate::{Body, HttpException, Request, Response};

/// How [`send_file_with`] and [`send_from_directory_with`] answer. The defaults are
/// Werkzeug's: inline, mimetype guessed from the name, conditional requests and ranges
/// honoured, an `ETag` from the file's modification time, size and path, and
/// `Cache-Control: no-cache` (caches keep the file but revalidate it every time).
///
/// # Examples
///
/// ```
/// use zeug::utils::FileOptions;
///
/// let options = FileOptions::new()
///     .as_attachment(true)
///     .download_name("Prüfbericht 2024.pdf")
///     .max_age(3600);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct FileOptions {
    mimetype: Option<String>,
    as_attachment: bool,
    download_name: Option<String>,
    conditional: bool,
    etag: EtagChoice,
    last_modified: Option<SystemTime>,
    max_age: Option<u64>,
}

#[derive(Debug, Clone)]
enum EtagChoice {
    Generated,
    Given(String),
    Off,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            mimetype: None,
            as_attachment: false,
            download_name: None,
            conditional: true,
            etag: EtagChoice::Generated,
            last_modified: None,
            max_age: None,
        }
    }
}

impl FileOptions {
    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }

    /// The `Content-Type` to send instead of the guessed one.
    pub fn mimetype(mut self, mimetype: &str) -> Self {
        self.mimetype = Some(mimetype.to_owned());
        self
    }

    /// Whether the browser should save the file (`Content-Disposition: attachment`)
    /// rather than show it (`inline`, the default).
    pub fn as_attachment(mut self, yes: bool) -> Self {
        self.as_attachment = yes;
        self
    }

    /// The file name the browser shows or saves as (default: the file's own name). Any
    /// Unicode is fine: it is sent as RFC 6266's `filename*=UTF-8''…` with an ASCII
    /// `filename` fallback. The mimetype is guessed from it.
    pub fn download_name(mut self, name: &str) -> Self {
        self.download_name = Some(name.to_owned());
        self
    }

    /// Whether to answer `If-None-Match`, `If-Modified-Since`, `If-Match` and `Range`
    /// (304, 412, 206, 416) through [`Response::make_conditional`]; default on.
    pub fn conditional(mut self, yes: bool) -> Self {
        self.conditional = yes;
        self
    }

    /// Whether to send a generated `ETag` (default on).
    pub fn etag(mut self, yes: bool) -> Self {
        self.etag = if yes {
            EtagChoice::Generated
        } else {
            EtagChoice::Off
        };
        self
    }

    /// Sends this entity tag (unquoted; it is quoted for you) instead of a generated one.
    pub fn etag_value(mut self, etag: &str) -> Self {
        self.etag = EtagChoice::Given(etag.to_owned());
        self
    }

    /// The `Last-Modified` time to send instead of the file's modification time.
    pub fn last_modified(mut self, time: SystemTime) -> Self {
        self.last_modified = Some(time);
        self
    }

    /// Lets caches reuse the file for `seconds` without asking again
    /// (`Cache-Control: public, max-age=N` and `Expires`); `0` means
    /// `no-cache, max-age=0`. Without it, `Cache-Control: no-cache`.
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }
}

/// Sends the file at `path` with the default [`FileOptions`]: the mimetype guessed from
/// its name, `Last-Modified`, an `ETag`, and 304/206/416/412 answers to conditional and
/// range requests. The path is trusted; for a name that came from a client use
/// [`send_from_directory`].
///
/// A missing file (or a directory) is a 404; a file that cannot be read is a 403.
///
/// # Examples
///
/// ```
/// use zeug::utils::send_file;
/// use zeug::{test::Client, Environ, Request, Response};
///
/// let app = |environ: Environ| {
///     let request = Request::new(environ);
///     send_file("Cargo.toml", &request).unwrap_or_else(|e| e.into_response())
/// };
/// let res = Client::new(app).get("/").send();
/// assert_eq!(res.status(), 200);
/// assert!(res.text().contains("[package]"));
/// assert!(res.header("etag").is_some());
/// ```
pub fn send_file(path: impl AsRef<Path>, request: &Request) -> Result<Response, HttpException> {
    send_file_with(path, request, &FileOptions::default())
}

/// Sends the file at `path` as [`send_file`] does, with `options`.
///
/// # Examples
///
/// ```
/// use zeug::utils::{send_file_with, FileOptions};
/// use zeug::{test::Client, Environ, Request};
///
/// let app = |environ: Environ| {
///     let request = Request::new(environ);
///     let options = FileOptions::new().as_attachment(true).download_name("naïve.toml");
///     send_file_with("Cargo.toml", &request, &options).unwrap_or_else(|e| e.into_response())
/// };
/// let res = Client::new(app).get("/").send();
/// assert_eq!(
///     res.header("content-disposition"),
///     Some("attachment; filename=naive.toml; filename*=UTF-8''na%C3%AFve.toml"),
/// );
/// ```
pub fn send_file_with(
    path: impl AsRef<Path>,
    request: &Request,
    options: &FileOptions,
) -> Result<Response, HttpException> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| open_error(path, &e))?;
    let meta = file.metadata().map_err(|e| open_error(path, &e))?;
    if !meta.is_file() {
        return Err(HttpException::not_found());
    }
    let size = meta.len();
    let mtime = meta.modified().ok();

    let download_name = options
        .download_name
        .clone()
        .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()));
    let body = FileBody::whole(file).map_err(|e| open_error(path, &e))?;
    let mut response = Response::new(Body::File(body));

    match &options.mimetype {
        Some(m) => set_mimetype_text(&mut response, m),
        None => {
            let (mimetype, encoding) = guess_type(download_name.as_deref().unwrap_or(""));
            set_mimetype_text(&mut response, &mimetype);
            // Not for attachments: browsers would save a `.tar.gz` decompressed.
            if let (Some(enc), false) = (encoding, options.as_attachment) {
                response
                    .headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static(enc));
            }
        }
    }

    if let Some(name) = &download_name {
        let kind = if options.as_attachment {
            "attachment"
        } else {
            "inline"
        };
        if let Ok(v) = HeaderValue::try_from(content_disposition(kind, name)) {
            response.headers_mut().insert(CONTENT_DISPOSITION, v);
        }
    }

    if let Some(t) = options.last_modified.or(mtime) {
        if let Ok(v) = HeaderValue::try_from(http_date(t)) {
            response.headers_mut().insert(LAST_MODIFIED, v);
        }
    }

    let cache_control = match options.max_age {
        None => "no-cache".to_owned(),
        Some(0) => "no-cache, max-age=0".to_owned(),
        Some(n) => format!("public, max-age={n}"),
    };
    if let Ok(v) = HeaderValue::try_from(cache_control) {
        response.headers_mut().insert(CACHE_CONTROL, v);
    }
    if let Some(n) = options.max_age {
        let expires = SystemTime::now() + std::time::Duration::from_secs(n.min(MAX_AGE_LIMIT));
        if let Ok(v) = HeaderValue::try_from(http_date(expires)) {
            response.headers_mut().insert(EXPIRES, v);
        }
    }

    let etag = match &options.etag {
        EtagChoice::Off => None,
        EtagChoice::Given(tag) => Some(tag.clone()),
        EtagChoice::Generated => Some(generate_etag(path, mtime, size)),
    };
    if let Some(tag) = etag {
        let quoted = format!("\"{}\"", tag.replace(['"', '\\'], ""));
        if let Ok(v) = HeaderValue::try_from(quoted) {
            response.headers_mut().insert(ETAG, v);
        }
    }

    if options.conditional {
        response = response.make_conditional(request);
    }
    if *request.method() == Method::HEAD {
        // Keep the headers (Content-Length included) and drop the file: nothing is read.
        let (status, headers, _) = response.into_parts();
        response = Response::from_parts(status, headers, Body::Empty);
    }
    Ok(response)
}

/// The longest `max_age` honoured when computing `Expires` (about 10 years), so huge
/// values cannot overflow the clock.
const MAX_AGE_LIMIT: u64 = 10 * 365 * 24 * 60 * 60;

/// Sends `name` (a path from a client, `/`-separated) from below `directory`, refusing
/// anything [`safe_join`](crate::security::safe_join) refuses (404), and answering 404 for
/// what does not exist or is not a regular file, including a file named as if it were a
/// directory (`a.txt/`, `a.txt/.`).
///
/// Symbolic links below `directory` are followed wherever they point, as by Flask's
/// `send_from_directory`: the check is on the name, not on the disk. To serve a tree
/// that may hold links to elsewhere, use [`SharedData`](crate::middleware::SharedData),
/// which refuses links that leave its directory.
///
/// # Examples
///
/// ```
/// use zeug::utils::send_from_directory;
/// use zeug::{test::Client, Environ, Request};
///
/// let app = |environ: Environ| {
///     let request = Request::new(environ);
///     let name = request.path().trim_start_matches('/').to_owned();
///     send_from_directory("src", &name, &request).unwrap_or_else(|e| e.into_response())
/// };
/// let client = Client::new(app);
/// assert_eq!(client.get("/lib.rs").send().status(), 200);
/// assert_eq!(client.get("/../Cargo.toml").send().status(), 404);
/// assert_eq!(client.get("/missing.rs").send().status(), 404);
/// ```
pub fn send_from_directory(
    directory: impl AsRef<Path>,
    name: &str,
    request: &Request,
) -> Result<Response, HttpException> {
    send_from_directory_with(directory, name, request, &FileOptions::default())
}

/// [`send_from_directory`] with `options`.
///
/// # Examples
///
/// ```
/// use zeug::utils::{send_from_directory_with, FileOptions};
/// use zeug::{test::Client, Environ, Request};
///
/// let app = |environ: Environ| {
///     let request = Request::new(environ);
///     let options = FileOptions::new().max_age(60);
///     send_from_directory_with("src", "lib.rs", &request, &options).unwrap_or_else(|e| e.into_response())
/// };
/// let res = Client::new(app).get("/").send();
/// assert_eq!(res.header("cache-control"), Some("public, max-age=60"));
/// ```
pub fn send_from_directory_with(
    directory: impl AsRef<Path>,
    name: &str,
    request: &Request,
    options: &FileOptions,
) -> Result<Response, HttpException> {
    let path = crate::security::safe_join(directory, name).ok_or_else(HttpException::not_found)?;
    // `a.txt/`, `a.txt/.` and `a.txt/x/..` name a directory; `safe_join` resolves them
    // lexically to `a.txt`, which the file system would not. Directories are 404s anyway.
    if !name.is_empty() && matches!(name.rsplit('/').next(), Some("" | "." | "..")) {
        return Err(HttpException::not_found());
    }
    send_file_with(path, request, options)
}

fn open_error(path: &Path, e: &io::Error) -> HttpException {
    // `a-file.txt/x` (ENOTDIR) and directories (EISDIR) are as missing as a missing file.
    let not_a_file = matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::EISDIR));
    match e.kind() {
        io::ErrorKind::NotFound => HttpException::not_found(),
        _ if not_a_file => HttpException::not_found(),
        io::ErrorKind::PermissionDenied => HttpException::forbidden(),
        _ => {
            log::error!(target: "zeug", "could not open {}: {e}", path.display());
            HttpException::internal_server_error()
        }
    }
}

/// The ETag Werkzeug's `send_file` makes: modification time, size and a checksum of the
/// path, so it changes when the file does and differs between files.
fn generate_etag(path: &Path, mtime: Option<SystemTime>, size: u64) -> String {
    let since = mtime
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    let mut crc = flate2::Crc::new();
    crc.update(path.as_os_str().as_encoded_bytes());
    format!(
        "{:x}.{:x}-{:x}-{:08x}",
        since.as_secs(),
        since.subsec_nanos(),
        size,
        crc.sum()
    )
}

/// File-name suffixes that are content codings, as Python's `mimetypes` knows them.
const ENCODING_SUFFIXES: &[(&str, &str)] = &[
    (".gz", "gzip"),
    (".br", "br"),
    (".bz2", "bzip2"),
    (".xz", "xz"),
    (".Z", "compress"),
];

/// Guesses the mimetype and content coding from a file name, as Werkzeug does with
/// Python's `mimetypes.guess_type`: `site.css` is `text/css`, `app.js.gz` is
/// `text/javascript` coded `gzip`, an unknown name `application/octet-stream`.
///
/// # Examples
///
/// ```
/// use zeug::utils::guess_type;
///
/// assert_eq!(guess_type("logo.png"), ("image/png".to_owned(), None));
/// assert_eq!(guess_type("data.tar.gz"), ("application/x-tar".to_owned(), Some("gzip")));
/// assert_eq!(guess_type("README"), ("application/octet-stream".to_owned(), None));
/// ```
pub fn guess_type(name: &str) -> (String, Option<&'static str>) {
    let (stem, encoding) = ENCODING_SUFFIXES
        .iter()
        .find_map(|(suffix, enc)| name.strip_suffix(suffix).map(|s| (s, Some(*enc))))
        .unwrap_or((name, None));
    let mimetype = if encoding.is_some() && !stem.contains('.') {
        None
    } else {
        mime_guess::from_path(stem).first()
    };
    (
        mimetype.map_or_else(|| "application/octet-stream".to_owned(), |m| m.to_string()),
        encoding,
    )
}

/// RFC 5987 `attr-char`s, which go unescaped in `filename*`.
const ATTR_CHAR_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A `Content-Disposition` value (RFC 6266) for `kind` (`"attachment"` or `"inline"`) and a
/// file name, written as Werkzeug writes it: an ASCII name as `filename=`, quoted only when
/// it is not a token; any other name with an ASCII fallback (accents folded, the rest
/// dropped) and `filename*=UTF-8''…`, percent-encoded. Control characters are removed, so
/// the value is always a valid header.
///
/// # Examples
///
/// ```
/// use zeug::utils::content_disposition;
///
/// assert_eq!(content_disposition("attachment", "report.pdf"), "attachment; filename=report.pdf");
/// assert_eq!(content_disposition("inline", "my report.pdf"), "inline; filename=\"my report.pdf\"");
/// assert_eq!(
///     content_disposition("inline", "€ rates.csv"),
///     "inline; filename=\" rates.csv\"; filename*=UTF-8''%E2%82%AC%20rates.csv",
/// );
/// ```
pub fn content_disposition(kind: &str, filename: &str) -> String {
    let name: String = filename.chars().filter(|c| !c.is_control()).collect();
    if name.is_ascii() {
        return format!("{kind}; filename={}", quote_if_needed(&name));
    }
    let fallback: String = name.nfkd().filter(char::is_ascii).collect();
    let encoded = percent_encoding::utf8_percent_encode(&name, ATTR_CHAR_ESCAPES);
    if fallback.is_empty() {
        format!("{kind}; filename*=UTF-8''{encoded}")
    } else {
        format!(
            "{kind}; filename={}; filename*=UTF-8''{encoded}",
            quote_if_needed(&fallback)
        )
    }
}

/// A header parameter value: as is when it is a token (RFC 9110 `tchar`s), else a quoted
/// string with `\` and `"` escaped.
fn quote_if_needed(value: &str) -> String {
    let is_token = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if is_token {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Sets a mimetype given as text (an option, or a guess from the file name); text that is
/// not a mimetype is logged and served as `application/octet-stream`.
fn set_mimetype_text(response: &mut Response, text: &str) {
    match text.parse::<mime::Mime>() {
        Ok(m) => response.set_mimetype(m),
        Err(e) => {
            log::warn!(target: "zeug", "send_file: {text:?} is not a mimetype ({e}); sending application/octet-stream");
            response.set_mimetype(mime::APPLICATION_OCTET_STREAM);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_types_and_codings() {
        assert_eq!(guess_type("a.html").0, "text/html");
        assert_eq!(guess_type("a.svgz.gz").1, Some("gzip"));
        assert_eq!(
            guess_type("a.gz"),
            ("application/octet-stream".to_owned(), Some("gzip"))
        );
        assert_eq!(
            guess_type("style.css.br"),
            ("text/css".to_owned(), Some("br"))
        );
    }

    #[test]
    fn dispositions_quote_and_encode() {
        assert_eq!(
            content_disposition("attachment", "a \"b\".txt"),
            "attachment; filename=\"a \\\"b\\\".txt\""
        );
        assert_eq!(
            content_disposition("attachment", "日本.txt"),
            "attachment; filename=.txt; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"
        );
        assert_eq!(
            content_disposition("attachment", "日本"),
            "attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC"
        );
        assert_eq!(
            content_disposition("inline", "a\r\nb.txt"),
            "inline; filename=ab.txt"
        );
    }
}
