//! [`MultipartReader`]: a streaming `multipart/form-data` reader with one reused buffer.
//!
//! This file owns the wire format: the preamble, delimiters (`--boundary` after a CR LF,
//! LF or CR line break, with optional transport padding), part headers and the close
//! delimiter; the epilogue is never read. It hands out each part's headers and then its
//! bytes as slices of its buffer, so a part of any size passes through a fixed amount of
//! memory. It does not decide where the bytes go: [`super::parse_multipart`] builds
//! fields and [`FileStorage`](crate::datastructures::FileStorage)s from it.
//!
//! Delimiters are found with [`memchr::memmem`] (SIMD, linear in the input whatever it
//! holds, bodies full of `\r\n--` lookalikes included); part headers are parsed
//! with [`httparse::parse_headers`] once their blank line has been seen, so a header block
//! that trickles in byte by byte is still scanned once.

use std::io::{self, Read};

use http::{HeaderMap, HeaderName, HeaderValue};
use memchr::memmem;

use super::Limits;
use super::content_disposition::{self, Charset};
use crate::HttpException;

/// Size of the reader's one buffer; also the largest data slice it hands out.
pub const BUFFER_SIZE: usize = 64 * 1024;
/// The largest header block of one part, whatever `max_form_memory_size` allows (413 beyond).
pub const MAX_PART_HEADER_SIZE: usize = 16 * 1024;
/// The most headers one part may have (413 beyond).
pub const MAX_PART_HEADERS: usize = 32;
/// The longest boundary accepted (RFC 2046 allows 70 characters; browsers use fewer).
pub const MAX_BOUNDARY_LEN: usize = 200;
/// How many bytes at the start of a search are checked line break by line break before
/// switching to the substring search.
const QUICK_SCAN: usize = 256;
/// The most spaces or tabs accepted between a delimiter and its line break.
const MAX_TRANSPORT_PADDING: usize = 64;

/// The headers of one part, returned by [`MultipartReader::next_part`].
///
/// # Examples
///
/// ```
/// use zeug::formparser::MultipartReader;
///
/// let body = "--X\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n\
///             Content-Type: text/plain\r\n\r\nhello\r\n--X--\r\n";
/// let mut reader = MultipartReader::new(body.as_bytes(), "X").unwrap();
/// let part = reader.next_part().unwrap().unwrap();
/// assert_eq!(part.name(), Some("doc"));
/// assert_eq!(part.filename(), Some("a.txt"));
/// assert_eq!(part.content_type(), Some("text/plain"));
/// assert_eq!(part.headers().len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Part {
    name: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    headers: HeaderMap,
    header_size: usize,
}

impl Part {
    /// The field name from `Content-Disposition` (`None` if the part has none).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The file name, if the part is a file (an empty string for an empty file input);
    /// RFC 2231/5987 `filename*` wins over `filename`, and a full Windows path is reduced
    /// to its last component.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// The part's `Content-Type`, if sent.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// All the part's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The part's headers, taken out (leaves an empty map).
    pub fn take_headers(&mut self) -> HeaderMap {
        std::mem::take(&mut self.headers)
    }

    /// The size in bytes of the part's header block as sent.
    pub fn header_size(&self) -> usize {
        self.header_size
    }

    /// Moves out the name, file name and content type.
    pub(crate) fn take_names(&mut self) -> (Option<String>, Option<String>, Option<String>) {
        (
            self.name.take(),
            self.filename.take(),
            self.content_type.take(),
        )
    }

    /// The `charset` parameter of the part's content type, if it names one zeug decodes.
    pub(crate) fn charset(&self) -> Option<Charset> {
        let ct = self.content_type.as_deref()?;
        ct.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            if k.trim().eq_ignore_ascii_case("charset") {
                Charset::from_label(v)
            } else {
                None
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    Headers,
    Data,
    /// The current part's data ended at a delimiter; `next` is where the following
    /// headers start, `last` whether it was the close delimiter.
    DataEnd {
        next: usize,
        last: bool,
    },
    End,
}

enum Tail {
    /// More bytes are needed to tell.
    Need,
    /// Not a delimiter after all (data that happens to contain `--boundary`).
    Invalid,
    /// A delimiter; the next part's headers start here.
    Next(usize),
    /// The close delimiter.
    Last(usize),
}

/// A pull-based, streaming `multipart/form-data` reader over any [`Read`].
///
/// Call [`next_part`](Self::next_part) for each part's headers, then
/// [`read_chunk`](Self::read_chunk) until it returns `None` for its bytes (unread data is
/// skipped by the next `next_part`). Memory stays at one [`BUFFER_SIZE`] buffer however
/// large the parts are. Errors are [`HttpException`]s: 400 for a malformed or truncated
/// body, 413 beyond the [`Limits`].
///
/// # Examples
///
/// Stream an upload somewhere without keeping it:
///
/// ```
/// use zeug::formparser::MultipartReader;
///
/// let body = b"preamble\r\n--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n\r\n\
///              0123456789\r\n--B--\r\nepilogue";
/// let mut reader = MultipartReader::new(&body[..], "B").unwrap();
/// let mut total = 0;
/// while let Some(part) = reader.next_part().unwrap() {
///     assert_eq!(part.filename(), Some("x.bin"));
///     while let Some(chunk) = reader.read_chunk().unwrap() {
///         total += chunk.len();
///     }
/// }
/// assert_eq!(total, 10);
/// ```
pub struct MultipartReader<R> {
    input: R,
    buf: Box<[u8]>,
    /// Start of the unconsumed bytes.
    pos: usize,
    /// End of the valid bytes.
    end: usize,
    /// Where the next delimiter search starts (everything before was ruled out).
    search_from: usize,
    /// Where the blank-line scan of a header block resumes, relative to `pos`.
    header_scan: usize,
    /// Absolute offset of `buf[0]` in the body.
    base: u64,
    eof: bool,
    finder: memmem::Finder<'static>,
    dash_len: usize,
    state: State,
    max_body: Option<u64>,
    max_header: usize,
    max_parts: Option<usize>,
    parts: usize,
    /// Whether text fields (parts without a file name) get their [`HeaderMap`] too.
    field_headers: bool,
}

impl<R> std::fmt::Debug for MultipartReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartReader")
            .field("state", &self.state)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

fn bad_request(description: &'static str) -> HttpException {
    HttpException::bad_request().with_description(description)
}

/// Whether a boundary is acceptable: 1 to [`MAX_BOUNDARY_LEN`] bytes, no line breaks.
fn valid_boundary(boundary: &str) -> bool {
    !boundary.is_empty()
        && boundary.len() <= MAX_BOUNDARY_LEN
        && !boundary.bytes().any(|b| b == b'\r' || b == b'\n')
}

impl<R: Read> MultipartReader<R> {
    /// A reader for a body with the given boundary (the `boundary` parameter of the
    /// `Content-Type`, without the leading `--`), with [`Limits::default`]. A boundary
    /// that is empty, too long or holds a line break is a 400.
    pub fn new(input: R, boundary: &str) -> Result<Self, HttpException> {
        if !valid_boundary(boundary) {
            return Err(bad_request("Invalid multipart boundary."));
        }
        let dash_boundary = format!("--{boundary}").into_bytes();
        let dash_len = dash_boundary.len();
        let mut reader = MultipartReader {
            input,
            buf: vec![0u8; BUFFER_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
            search_from: 0,
            header_scan: 0,
            base: 0,
            eof: false,
            finder: memmem::Finder::new(&dash_boundary).into_owned(),
            dash_len,
            state: State::Preamble,
            max_body: None,
            max_header: MAX_PART_HEADER_SIZE,
            max_parts: None,
            parts: 0,
            field_headers: true,
        };
        reader.set_limits(&Limits::default());
        Ok(reader)
    }

    /// Applies `max_content_length` (bytes read from the input), `max_form_memory_size`
    /// (one part's header block) and `max_form_parts`.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::formparser::{Limits, MultipartReader};
    ///
    /// let body = "--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--";
    /// let mut reader = MultipartReader::new(body.as_bytes(), "b").unwrap();
    /// reader.set_limits(&Limits { max_form_parts: Some(1), ..Limits::default() });
    /// assert!(reader.next_part().unwrap().is_some());
    /// assert_eq!(reader.next_part().unwrap_err().status(), 413);
    /// assert_eq!(reader.parts(), 2);
    /// ```
    pub fn set_limits(&mut self, limits: &Limits) {
        self.max_body = limits.max_content_length;
        self.max_header = limits
            .max_form_memory_size
            .map_or(MAX_PART_HEADER_SIZE, |m| {
                m.min(MAX_PART_HEADER_SIZE as u64) as usize
            });
        self.max_parts = limits.max_form_parts;
    }

    /// Whether parts without a file name get their [`Part::headers`] (default: yes).
    /// Without, a form of many small fields parses faster; the name and content type are
    /// read either way.
    pub fn set_field_headers(&mut self, keep: bool) {
        self.field_headers = keep;
    }

    /// The number of parts started so far.
    pub fn parts(&self) -> usize {
        self.parts
    }

    /// Bytes read from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.base + self.end as u64
    }

    /// Moves the unconsumed bytes to the front and reads more; returns how many were
    /// read (0 at the end of the input).
    fn read_more(&mut self) -> Result<usize, HttpException> {
        if self.eof {
            return Ok(0);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.search_from = self.search_from.saturating_sub(self.pos);
            if let State::DataEnd { next, last } = self.state {
                self.state = State::DataEnd {
                    next: next - self.pos,
                    last,
                };
            }
            self.base += self.pos as u64;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            // Callers keep less than a buffer unconsumed; this is a guard, not a path.
            return Err(bad_request("Multipart part headers are too large."));
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(0);
                }
                Ok(n) => {
                    self.end += n;
                    if let Some(max) = self.max_body {
                        if self.bytes_read() > max {
                            return Err(HttpException::request_entity_too_large());
                        }
                    }
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!(target: "zeug", "error reading multipart body: {e}");
                    return Err(bad_request(
                        "The request body could not be read completely.",
                    ));
                }
            }
        }
    }

    /// Where the line break before a delimiter at `i` starts, if there is one at or
    /// after `lo`.
    fn line_break_before(&self, i: usize, lo: usize) -> Option<usize> {
        if i > lo && self.buf[i - 1] == b'\n' {
            if i - 1 > lo && self.buf[i - 2] == b'\r' {
                Some(i - 2)
            } else {
                Some(i - 1)
            }
        } else if i > lo && self.buf[i - 1] == b'\r' {
            Some(i - 1)
        } else {
            None
        }
    }

    /// What follows `--boundary` at `after`: `--`, or padding and a line break.
    fn tail(&self, after: usize) -> Tail {
        let rest = &self.buf[after..self.end];
        let need = if self.eof { Tail::Invalid } else { Tail::Need };
        match rest {
            [] | [b'-'] => return need,
            [b'-', b'-', ..] => return Tail::Last(after + 2),
            _ => {}
        }
        let pad = rest
            .iter()
            .take(MAX_TRANSPORT_PADDING + 1)
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        if pad > MAX_TRANSPORT_PADDING {
            return Tail::Invalid;
        }
        match rest.get(pad) {
            None => need,
            Some(b'\n') => Tail::Next(after + pad + 1),
            Some(b'\r') => match rest.get(pad + 1) {
                Some(b'\n') => Tail::Next(after + pad + 2),
                Some(_) => Tail::Next(after + pad + 1),
                None if self.eof => Tail::Next(after + pad + 1),
                None => Tail::Need,
            },
            Some(_) => Tail::Invalid,
        }
    }

    /// Finds the first delimiter at or after `search_from` whose line break starts at or
    /// after `lo` (or at the very start of the body when `at_start` allows it). Returns
    /// `(index of --boundary, start of its line break, tail)`.
    fn find_delimiter(&self, lo: usize, at_start: bool) -> Option<(usize, usize, Tail)> {
        let mut from = self.search_from.max(lo);
        if !at_start {
            // Most text fields are short: their delimiter follows one of the first line
            // breaks, and checking those directly is cheaper than a substring search.
            let window_end = (from + QUICK_SCAN).min((self.end + 1).saturating_sub(self.dash_len));
            if window_end > from {
                let dash = self.finder.needle();
                let scan_start = from.saturating_sub(1).max(lo);
                let breaks = &self.buf[scan_start..window_end - 1];
                for off in memchr::memchr2_iter(b'\r', b'\n', breaks) {
                    let i = scan_start + off + 1;
                    if i < from || &self.buf[i..i + self.dash_len] != dash {
                        continue;
                    }
                    if let Some(lb) = self.line_break_before(i, lo) {
                        match self.tail(i + self.dash_len) {
                            Tail::Invalid => {}
                            tail => return Some((i, lb, tail)),
                        }
                    }
                }
                from = window_end;
            }
        }
        while from < self.end {
            let i = from + self.finder.find(&self.buf[from..self.end])?;
            let lb = match self.line_break_before(i, lo) {
                Some(lb) => Some(lb),
                None if at_start && self.base + i as u64 == 0 => Some(i),
                None => None,
            };
            if let Some(lb) = lb {
                match self.tail(i + self.dash_len) {
                    Tail::Invalid => {}
                    tail => return Some((i, lb, tail)),
                }
            }
            from = i + 1;
        }
        None
    }

    /// Where the next search must start when nothing was found up to `end`: a delimiter
    /// may still begin in the last `dash_len - 1` bytes.
    fn resume_point(&self) -> usize {
        (self.end + 1).saturating_sub(self.dash_len).max(self.pos)
    }

    /// Skips the preamble up to the first delimiter.
    fn skip_preamble(&mut self) -> Result<(), HttpException> {
        loop {
            match self.find_delimiter(self.pos, true) {
                Some((_, _, Tail::Next(n))) => {
                    self.pos = n;
                    self.state = State::Headers;
                    return Ok(());
                }
                Some((_, _, Tail::Last(n))) => {
                    self.pos = n;
                    self.state = State::End;
                    return Ok(());
                }
                Some((i, _, _)) => {
                    // Keep the candidate and the bytes that may be its line break.
                    self.pos = i.saturating_sub(2).max(self.pos);
                    self.search_from = i;
                }
                None => {
                    if self.eof {
                        if self.bytes_read() == 0 {
                            self.state = State::End;
                            return Ok(());
                        }
                        return Err(bad_request("No multipart boundary found in the body."));
                    }
                    self.search_from = self.resume_point();
                    self.pos = (self.end + 1)
                        .saturating_sub(self.dash_len + 2)
                        .max(self.pos);
                }
            }
            self.read_more()?;
        }
    }

    /// The headers of the next part, skipping whatever is left of the current one;
    /// `None` after the close delimiter.
    pub fn next_part(&mut self) -> Result<Option<Part>, HttpException> {
        loop {
            match self.state {
                State::Preamble => self.skip_preamble()?,
                State::Data | State::DataEnd { .. } => while self.read_chunk()?.is_some() {},
                State::End => return Ok(None),
                State::Headers => return self.read_headers().map(Some),
            }
        }
    }

    fn read_headers(&mut self) -> Result<Part, HttpException> {
        self.parts += 1;
        if let Some(max) = self.max_parts {
            if self.parts > max {
                return Err(HttpException::request_entity_too_large()
                    .with_description("Too many parts in the multipart form."));
            }
        }
        self.header_scan = 0;
        loop {
            if self.header_block_complete() {
                return self.parse_header_block();
            }
            if self.end - self.pos > self.max_header {
                return Err(HttpException::request_entity_too_large()
                    .with_description("Multipart part headers are too large."));
            }
            if self.eof {
                return Err(bad_request("The multipart body ended early."));
            }
            self.read_more()?;
        }
    }

    /// Whether the header block starting at `pos` has its terminating blank line in the
    /// buffer. Resumes where the last call stopped.
    fn header_block_complete(&mut self) -> bool {
        let region = &self.buf[self.pos..self.end];
        match region {
            [b'\n', ..] | [b'\r', b'\n', ..] => return true,
            [] | [b'\r'] => return false,
            _ => {}
        }
        for j in memchr::memchr_iter(b'\n', &region[self.header_scan..]) {
            let j = self.header_scan + j;
            match &region[j + 1..] {
                [b'\n', ..] | [b'\r', b'\n', ..] => return true,
                [] | [b'\r'] => {
                    self.header_scan = j;
                    return false;
                }
                _ => {}
            }
        }
        self.header_scan = region.len();
        false
    }

    fn parse_header_block(&mut self) -> Result<Part, HttpException> {
        let mut raw = [httparse::EMPTY_HEADER; MAX_PART_HEADERS];
        let region = &self.buf[self.pos..self.end];
        let (size, parsed) = match httparse::parse_headers(region, &mut raw) {
            Ok(httparse::Status::Complete(done)) => done,
            Ok(httparse::Status::Partial) => {
                return Err(bad_request("Malformed multipart part headers."));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HttpException::request_entity_too_large()
                    .with_description("Too many headers in a multipart part."));
            }
            Err(_) => return Err(bad_request("Malformed multipart part headers.")),
        };
        if size > self.max_header {
            return Err(HttpException::request_entity_too_large()
                .with_description("Multipart part headers are too large."));
        }
        let mut part = Part {
            name: None,
            filename: None,
            content_type: None,
            headers: HeaderMap::new(),
            header_size: size,
        };
        for h in parsed.iter() {
            if h.name.eq_ignore_ascii_case("content-disposition") {
                let d = content_disposition::parse(h.value);
                part.name = d.name;
                part.filename = d.filename;
            } else if h.name.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(content_disposition::header_text(h.value).into_owned());
            }
        }
        if self.field_headers || part.filename.is_some() {
            part.headers.reserve(parsed.len());
            for h in parsed.iter() {
                let name = HeaderName::from_bytes(h.name.as_bytes())
                    .map_err(|_| bad_request("Malformed multipart part headers."))?;
                let value = HeaderValue::from_bytes(h.value)
                    .map_err(|_| bad_request("Malformed multipart part headers."))?;
                part.headers.append(name, value);
            }
        }
        self.pos += size;
        self.search_from = self.pos;
        self.state = State::Data;
        Ok(part)
    }

    /// The next slice of the current part's bytes; `None` at its end. Slices borrow the
    /// reader's buffer and are at most [`BUFFER_SIZE`] long.
    pub fn read_chunk(&mut self) -> Result<Option<&[u8]>, HttpException> {
        let (start, stop) = loop {
            match self.state {
                State::DataEnd { next, last } => {
                    self.pos = next;
                    self.search_from = next;
                    self.state = if last { State::End } else { State::Headers };
                    return Ok(None);
                }
                State::Data => {}
                _ => return Ok(None),
            }
            match self.find_delimiter(self.pos, false) {
                Some((_, lb, tail @ (Tail::Next(_) | Tail::Last(_)))) => {
                    let (next, last) = match tail {
                        Tail::Next(n) => (n, false),
                        Tail::Last(n) => (n, true),
                        _ => unreachable!("matched above"),
                    };
                    self.state = State::DataEnd { next, last };
                    if lb > self.pos {
                        break (self.pos, lb);
                    }
                }
                Some((i, lb, _)) => {
                    // A delimiter whose end is not in the buffer yet: hand out the data
                    // before it, then read on.
                    self.search_from = i;
                    if lb > self.pos {
                        let start = self.pos;
                        self.pos = lb;
                        break (start, lb);
                    }
                    self.read_more()?;
                }
                None => {
                    if self.eof {
                        return Err(bad_request("The multipart body ended early."));
                    }
                    self.search_from = self.resume_point();
                    // Keep what may be a line break and the start of a delimiter.
                    let safe = self.end.saturating_sub(self.dash_len + 1).max(self.pos);
                    if safe > self.pos {
                        let start = self.pos;
                        self.pos = safe;
                        break (start, safe);
                    }
                    self.read_more()?;
                }
            }
        };
        Ok(Some(&self.buf[start..stop]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn collect(
        body: &[u8],
        boundary: &str,
        step: usize,
    ) -> Result<Vec<(Part, Vec<u8>)>, HttpException> {
        let mut reader = MultipartReader::new(Trickle { data: body, step }, boundary)?;
        let mut out = Vec::new();
        while let Some(part) = reader.next_part()? {
            let mut data = Vec::new();
            while let Some(chunk) = reader.read_chunk()? {
                assert!(!chunk.is_empty());
                data.extend_from_slice(chunk);
            }
            out.push((part, data));
        }
        Ok(out)
    }

    const BODY: &[u8] = b"This is the preamble.\r\n--AaB03x\r\n\
        Content-Disposition: form-data; name=\"a\"\r\n\r\n\
        first\r\n--AaB03x  \t\r\n\
        Content-Disposition: form-data; name=\"b\"; filename=\"b.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        \r\n--AaB03 not a boundary\r\n--AaB03xx is data too\r\n\
        \r\n--AaB03x--\r\nepilogue --AaB03x";

    #[test]
    fn parses_at_every_read_size() {
        for step in [1, 2, 3, 7, 13, 64, 1000, 1 << 20] {
            let parts = collect(BODY, "AaB03x", step).unwrap();
            assert_eq!(parts.len(), 2, "step {step}");
            assert_eq!(parts[0].0.name(), Some("a"));
            assert_eq!(parts[0].1, b"first");
            assert_eq!(parts[1].0.filename(), Some("b.txt"));
            assert_eq!(parts[1].0.content_type(), Some("text/plain"));
            assert_eq!(
                parts[1].1, b"\r\n--AaB03 not a boundary\r\n--AaB03xx is data too\r\n",
                "step {step}"
            );
        }
    }

    #[test]
    fn bare_lf_and_cr_line_breaks() {
        let body = b"--b\nContent-Disposition: form-data; name=\"x\"\n\nvalue\n--b\r\
            Content-Disposition: form-data; name=\"y\"\r\n\r\nv2\r--b--";
        for step in [1, 5, 100] {
            let parts = collect(body, "b", step).unwrap();
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[0].1, b"value");
            assert_eq!(parts[1].1, b"v2");
        }
    }

    #[test]
    fn empty_parts_and_empty_body() {
        let body =
            b"--b\r\n\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n\r\n--b--";
        let parts = collect(body, "b", 3).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0.name(), None);
        assert!(parts[1].1.is_empty());
        assert!(collect(b"", "b", 10).unwrap().is_empty());
        assert!(collect(b"--b--\r\n", "b", 10).unwrap().is_empty());
    }

    #[test]
    fn truncated_and_malformed_bodies_are_400() {
        let cases: &[&[u8]] = &[
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end",
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n",
            b"no boundary at all",
            b"--b\r\nBad Header Name: x\r\n\r\ndata\r\n--b--",
            b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nvalue\r\n--b",
        ];
        for body in cases {
            for step in [1, 4, 4096] {
                let err = collect(body, "b", step).unwrap_err();
                assert_eq!(err.status(), 400, "{:?}", String::from_utf8_lossy(body));
            }
        }
        assert_eq!(
            MultipartReader::new(&b""[..], "").unwrap_err().status(),
            400
        );
        assert_eq!(
            MultipartReader::new(&b""[..], "a\r\nb")
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn big_part_streams_in_bounded_slices() {
        let mut body =
            b"--bnd\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n".to_vec();
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| {
                if i % 97 == 0 {
                    b'\r'
                } else if i % 89 == 0 {
                    b'-'
                } else {
                    (i % 251) as u8
                }
            })
            .collect();
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\r\n--bnd--\r\n");
        let mut reader = MultipartReader::new(&body[..], "bnd").unwrap();
        reader.next_part().unwrap().unwrap();
        let mut got = Vec::new();
        while let Some(chunk) = reader.read_chunk().unwrap() {
            assert!(chunk.len() <= BUFFER_SIZE);
            got.extend_from_slice(chunk);
        }
        assert_eq!(got, data);
        assert!(reader.next_part().unwrap().is_none());
    }

    #[test]
    fn limits() {
        let many: Vec<u8> = (0..5)
            .flat_map(|i| {
                format!("--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n")
                    .into_bytes()
            })
            .chain(b"--b--".iter().copied())
            .collect();
        let mut reader = MultipartReader::new(&many[..], "b").unwrap();
        reader.set_limits(&Limits {
            max_form_parts: Some(4),
            ..Limits::default()
        });
        let mut err = None;
        for _ in 0..10 {
            match reader.next_part() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err.unwrap().status(), 413);
        let mut reader = MultipartReader::new(&many[..], "b").unwrap();
        reader.set_limits(&Limits {
            max_content_length: Some(20),
            ..Limits::default()
        });
        assert_eq!(reader.next_part().unwrap_err().status(), 413);
        let huge_header = format!(
            "--b\r\nX-Big: {}\r\n\r\nv\r\n--b--",
            "a".repeat(MAX_PART_HEADER_SIZE)
        );
        let mut reader = MultipartReader::new(huge_header.as_bytes(), "b").unwrap();
        assert_eq!(reader.next_part().unwrap_err().status(), 413);
        let many_headers = format!(
            "--b\r\n{}\r\nv\r\n--b--",
            "X-A: 1\r\n".repeat(MAX_PART_HEADERS + 1)
        );
        let mut reader = MultipartReader::new(many_headers.as_bytes(), "b").unwrap();
        assert_eq!(reader.next_part().unwrap_err().status(), 413);
    }
}
