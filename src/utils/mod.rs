//! Helpers a view reaches for: [`redirect`], [`send_file`], [`send_from_directory`] and
//! [`escape_html`].

use http::header::{HeaderValue, LOCATION};

use crate::Response;
pub use crate::html::escape_html;

/// A redirect response to `location` with `code` (301, 302, 303, 307 or 308), with a short
/// HTML body for clients that do not follow it. Non-ASCII characters in the location are
/// percent-encoded.
///
/// # Examples
///
/// ```
/// let res = zeug::utils::redirect("/login", 303);
/// assert_eq!(res.status(), 303);
/// assert_eq!(res.location(), Some("/login"));
/// ```
pub fn redirect(location: &str, code: u16) -> Response {
    let encoded = iri_to_uri(location);
    let body = format!(
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"{0}\">{0}</a>. If not, click the link.\n",
        escape_html(location)
    );
    let mut res = Response::html(body).with_status(code);
    if let Ok(v) = HeaderValue::try_from(encoded) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

/// Percent-encodes the characters of an IRI that may not appear in a URI (non-ASCII,
/// spaces, controls), leaving existing escapes and reserved characters alone.
///
/// # Examples
///
/// ```
/// assert_eq!(zeug::utils::iri_to_uri("/ünïcode path?x=1"), "/%C3%BCn%C3%AFcode%20path?x=1");
/// ```
pub fn iri_to_uri(iri: &str) -> String {
    const IRI: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'<')
        .add(b'>')
        .add(b'\\')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    percent_encoding::utf8_percent_encode(iri, IRI).to_string()
}

mod send_file;
pub use send_file::{
    FileOptions, content_disposition, guess_type, send_file, send_file_with, send_from_directory,
    send_from_directory_with,
};
