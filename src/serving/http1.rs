//! HTTP/1.x wire format for the server: request heads (parsed by `httparse`, then checked
//! for strict framing), the chunked body decoder and response heads.
//!
//! This module owns bytes → values and values → bytes, nothing else: it never touches a
//! socket, a thread or the application (see `conn.rs` and `server.rs`).

use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode, Version};

use crate::Environ;
use crate::environ::{Text, decode_path};

/// Longest chunk-size line (size, extensions and CRLF) of a chunked request body.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;

/// The most hex digits a chunk size may have, leading zeros included: 16 hold any `u64`,
/// and a longer run of zeros only serves to smuggle past a front-end that counts
/// differently.
pub(crate) const MAX_CHUNK_SIZE_DIGITS: usize = 16;

/// The `Server` header the server adds to responses that have none.
pub(crate) const SERVER_HEADER: &str = concat!("zeug/", env!("CARGO_PKG_VERSION"));

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A request head the server accepts, with what the connection needs to know about it.
#[derive(Debug)]
pub(crate) struct Head {
    /// The environ, without input.
    pub(crate) environ: Environ,
    /// How the body is delimited.
    pub(crate) framing: Framing,
    /// Whether the client wants the connection kept after this request.
    pub(crate) keep_alive: bool,
    /// `Expect: 100-continue` on HTTP/1.1.
    pub(crate) expect_continue: bool,
}

/// A request the server refuses before the app sees it: the status and a short reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    pub(crate) status: StatusCode,
    pub(crate) reason: &'static str,
}

impl Reject {
    fn new(status: StatusCode, reason: &'static str) -> Self {
        Reject { status, reason }
    }

    fn bad(reason: &'static str) -> Self {
        Reject::new(StatusCode::BAD_REQUEST, reason)
    }
}

/// The outcome of looking at the bytes received so far.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A whole head of this many bytes. Boxed: a head (about 400 bytes) passes through
    /// admission and dispatch to the connection's handler, and one allocation costs less
    /// than copying it at each step.
    Complete(Box<Head>, usize),
    /// Not a whole head yet, and within the limits.
    Partial,
    /// A head the server refuses.
    Error(Reject),
}

/// The size limits a head is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadLimits {
    pub(crate) max_request_line: usize,
    pub(crate) max_header_size: usize,
    pub(crate) max_header_count: usize,
}

/// What the server knows about the connection, copied into each environ. The strings are
/// [`Text`], so the per-request copy of a short value (an IP address, a host name) is a
/// plain copy of the inline bytes, not an allocation.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnInfo {
    pub(crate) remote_addr: Option<Text>,
    pub(crate) remote_port: Option<u16>,
    pub(crate) server_name: Text,
    pub(crate) server_port: u16,
    pub(crate) url_scheme: Text,
    pub(crate) multithread: bool,
    pub(crate) multiprocess: bool,
}

/// Header slots kept on the stack; a `max_header_count` above it uses the heap.
const STACK_HEADERS: usize = 100;

/// Parses a request head from the start of `buf`.
pub(crate) fn parse_head(buf: &[u8], limits: &HeadLimits, info: &ConnInfo) -> Parsed {
    // httparse takes a bare LF for a line end; a front-end that does not would read a
    // different request out of the same bytes.
    if has_bare_lf(buf) {
        return Parsed::Error(Reject::bad("Bare LF in the request head."));
    }
    // RFC 9112 §2.2: empty lines before the request line are ignored (httparse does too).
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line_end = match memchr::memchr(b'\n', &buf[start..]) {
        Some(i) if i > limits.max_request_line + 1 => {
            return Parsed::Error(Reject::new(
                StatusCode::URI_TOO_LONG,
                "The request line is too long.",
            ));
        }
        Some(i) => start + i + 1,
        None if buf.len() - start > limits.max_request_line + 1 => {
            return Parsed::Error(Reject::new(
                StatusCode::URI_TOO_LONG,
                "The request line is too long.",
            ));
        }
        None => return Parsed::Partial,
    };
    let too_big = || {
        Parsed::Error(Reject::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "The request header block is too large.",
        ))
    };
    if limits.max_header_count <= STACK_HEADERS {
        // Uninitialised: httparse writes the slots it uses, so no 3 KiB memset per request.
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
        parse_with(
            buf,
            line_end,
            limits,
            info,
            &mut slots[..limits.max_header_count],
            too_big,
        )
    } else {
        let mut slots = Vec::with_capacity(limits.max_header_count);
        slots.resize_with(limits.max_header_count, MaybeUninit::uninit);
        parse_with(buf, line_end, limits, info, &mut slots, too_big)
    }
}

fn parse_with<'b>(
    buf: &'b [u8],
    line_end: usize,
    limits: &HeadLimits,
    info: &ConnInfo,
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
    too_big: impl Fn() -> Parsed,
) -> Parsed {
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(len)) => {
            if len - line_end > limits.max_header_size + 2 {
                return too_big();
            }
            match build_head(&req, &buf[..len], info) {
                Ok(head) => Parsed::Complete(Box::new(head), len),
                Err(reject) => Parsed::Error(reject),
            }
        }
        Ok(httparse::Status::Partial) => {
            if buf.len() - line_end > limits.max_header_size + 2 {
                too_big()
            } else {
                Parsed::Partial
            }
        }
        Err(httparse::Error::TooManyHeaders) => Parsed::Error(Reject::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Too many header fields.",
        )),
        Err(httparse::Error::Version) if looks_like_other_version(&buf[..line_end]) => {
            Parsed::Error(Reject::new(
                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                "Only HTTP/1.0 and HTTP/1.1 are supported.",
            ))
        }
        Err(httparse::Error::HeaderName) => Parsed::Error(Reject::bad("Invalid header name.")),
        Err(httparse::Error::HeaderValue) => Parsed::Error(Reject::bad("Invalid header value.")),
        Err(_) => Parsed::Error(Reject::bad("Malformed request.")),
    }
}

/// Whether the head at the start of `buf` (up to the empty line that ends it, or all of
/// `buf` while it is incomplete) has a line feed not preceded by a carriage return.
fn has_bare_lf(buf: &[u8]) -> bool {
    let mut line_start = 0;
    let mut seen_line = false;
    for lf in memchr::memchr_iter(b'\n', buf) {
        if lf == 0 || buf[lf - 1] != b'\r' {
            return true;
        }
        if lf - line_start > 1 {
            seen_line = true;
        } else if seen_line {
            return false; // the empty line that ends the head
        }
        line_start = lf + 1;
    }
    false
}

/// Whether the request line ends in a well-formed `HTTP/<digit>.<digit>` other than 1.0 and
/// 1.1 (`505`), rather than garbage (`400`).
fn looks_like_other_version(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // method SP target SP version: exactly two spaces, or it is garbage.
    let mut parts = line.split(|&b| b == b' ');
    let (Some(_), Some(_), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor] => {
            major.is_ascii_digit() && minor.is_ascii_digit()
        }
        [b'H', b'T', b'T', b'P', b'/', major] => major.is_ascii_digit(),
        _ => false,
    }
}

/// Builds the head from what `httparse` found in `raw` (the head's bytes).
fn build_head(
    req: &httparse::Request<'_, '_>,
    raw: &[u8],
    info: &ConnInfo,
) -> Result<Head, Reject> {
    let version = match req.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let method = Method::from_bytes(req.method.unwrap_or("").as_bytes())
        .map_err(|_| Reject::bad("Invalid method."))?;
    let target = req.path.unwrap_or("");

    // One copy of the head backs every header value (one allocation, not one per field).
    let shared = bytes::Bytes::copy_from_slice(raw);
    let mut headers = HeaderMap::with_capacity(req.headers.len());
    // The fields the server itself reads, noted on the way so that a request without them
    // costs no lookups.
    let mut present = Present::default();
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| Reject::bad("Invalid header name."))?;
        present.note(&name);
        // `h.value` points into `raw`: the same bytes sit at the same offset in `shared`.
        let start = h.value.as_ptr() as usize - raw.as_ptr() as usize;
        let value = HeaderValue::from_maybe_shared(shared.slice(start..start + h.value.len()))
            .map_err(|_| Reject::bad("Invalid header value."))?;
        headers.append(name, value);
    }

    let framing = framing(&headers, &present, version)?;

    if present.host > 1 {
        return Err(Reject::bad("More than one Host header."));
    }
    if present.host == 0 && version == Version::HTTP_11 {
        return Err(Reject::bad("HTTP/1.1 requests need a Host header."));
    }

    let (path, query_string) = split_target(&method, target, &mut headers)?;
    if headers
        .get(header::HOST)
        .is_some_and(|host| !is_valid_host(host.as_bytes()))
    {
        return Err(Reject::bad("Invalid Host header."));
    }

    let keep_alive = {
        let (mut close, mut keep) = (false, false);
        if present.connection {
            for token in tokens(&headers, header::CONNECTION) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
        !close && (version == Version::HTTP_11 || keep)
    };

    let mut expect_continue = false;
    if let Some(expect) = present
        .expect
        .then(|| headers.get(header::EXPECT))
        .flatten()
    {
        if expect.as_bytes().eq_ignore_ascii_case(b"100-continue") {
            expect_continue = version == Version::HTTP_11 && framing != Framing::None;
        } else {
            return Err(Reject::new(
                StatusCode::EXPECTATION_FAILED,
                "Only 'Expect: 100-continue' is supported.",
            ));
        }
    }

    let environ = Environ {
        method,
        script_name: Text::new(),
        path_info: path,
        query_string,
        request_uri: Text::from(target),
        version,
        headers,
        input: Default::default(),
        url_scheme: info.url_scheme.clone(),
        remote_addr: info.remote_addr.clone(),
        remote_port: info.remote_port,
        server_name: info.server_name.clone(),
        server_port: info.server_port,
        multithread: info.multithread,
        multiprocess: info.multiprocess,
        run_once: false,
        extensions: Default::default(),
    };
    Ok(Head {
        environ,
        framing,
        keep_alive,
        expect_continue,
    })
}

/// Which of the fields the server reads a request head has (how many `Host` fields).
#[derive(Debug, Default)]
struct Present {
    host: usize,
    content_length: bool,
    transfer_encoding: bool,
    connection: bool,
    expect: bool,
}

impl Present {
    fn note(&mut self, name: &HeaderName) {
        if *name == header::HOST {
            self.host += 1;
        } else if *name == header::CONTENT_LENGTH {
            self.content_length = true;
        } else if *name == header::TRANSFER_ENCODING {
            self.transfer_encoding = true;
        } else if *name == header::CONNECTION {
            self.connection = true;
        } else if *name == header::EXPECT {
            self.expect = true;
        }
    }
}

/// The comma-separated tokens of every `name` field, trimmed, empty ones skipped.
fn tokens(headers: &HeaderMap, name: HeaderName) -> impl Iterator<Item = &str> {
    headers
        .get_all(name)
        .into_iter()
        .flat_map(|v| v.to_str().unwrap_or("\u{0}").split(','))
        .map(|t| t.trim_matches([' ', '\t']))
        .filter(|t| !t.is_empty())
}

/// Decides the body framing, refusing every ambiguity (RFC 9112 §6).
fn framing(headers: &HeaderMap, present: &Present, version: Version) -> Result<Framing, Reject> {
    let has_te = present.transfer_encoding;
    let has_cl = present.content_length;
    if has_te && has_cl {
        return Err(Reject::bad(
            "Content-Length and Transfer-Encoding together.",
        ));
    }
    if has_te {
        if version == Version::HTTP_10 {
            return Err(Reject::bad("Transfer-Encoding in an HTTP/1.0 request."));
        }
        let mut chunked = 0;
        for coding in tokens(headers, header::TRANSFER_ENCODING) {
            if coding.eq_ignore_ascii_case("chunked") {
                chunked += 1;
            } else {
                return Err(Reject::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "Only the chunked transfer coding is supported.",
                ));
            }
        }
        return match chunked {
            1 => Ok(Framing::Chunked),
            0 => Err(Reject::bad("Empty Transfer-Encoding.")),
            _ => Err(Reject::bad("Transfer-Encoding chunked more than once.")),
        };
    }
    if has_cl {
        let mut length = None;
        for value in headers.get_all(header::CONTENT_LENGTH) {
            for part in value.as_bytes().split(|&b| b == b',') {
                let part = trim_ows(part);
                if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                    return Err(Reject::bad("Invalid Content-Length."));
                }
                let n = std::str::from_utf8(part)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| Reject::bad("Invalid Content-Length."))?;
                match length {
                    Some(m) if m != n => return Err(Reject::bad("Differing Content-Length.")),
                    _ => length = Some(n),
                }
            }
        }
        return Ok(match length {
            Some(0) | None => Framing::None,
            Some(n) => Framing::Length(n),
        });
    }
    Ok(Framing::None)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Whether `value` is a `Host` value of RFC 9110 §7.2: `uri-host [ ":" port ]`, where
/// `uri-host` is a bracketed IP literal or a reg-name (unreserved characters,
/// percent-escapes and sub-delims; an IPv4 address is one too). Empty is allowed: it is
/// what a client sends for a target URI without an authority.
fn is_valid_host(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(close) = value.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &value[1..close];
        let ok = !literal.is_empty()
            && literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'v' | b'V'));
        if !ok {
            return false;
        }
        match &value[close + 1..] {
            [] => return true,
            [b':', port @ ..] => (&value[..0], port),
            _ => return false,
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon + 1..]),
            None => (value, &value[..0]),
        }
    };
    if !port.iter().all(u8::is_ascii_digit) {
        return false;
    }
    // A reg-name: unreserved characters, sub-delims (`&'()*+,` is a range) and
    // percent-encoded octets.
    let mut bytes = host.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {}
            b'!' | b'$' | b'&'..=b',' | b';' | b'=' => {}
            b'%' => {
                let mut hex = || bytes.next().is_some_and(u8::is_ascii_hexdigit);
                if !(hex() && hex()) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

/// Splits the request target into decoded path and raw query. Absolute-form targets replace
/// the `Host` header with their authority (RFC 9112 §3.2.2), as Werkzeug does.
fn split_target(
    method: &Method,
    target: &str,
    headers: &mut HeaderMap,
) -> Result<(Text, Text), Reject> {
    if target == "*" {
        return if method == Method::OPTIONS {
            Ok((Text::from("*"), Text::new()))
        } else {
            Err(Reject::bad("'*' is only a target for OPTIONS."))
        };
    }
    let origin = if target.starts_with('/') {
        target
    } else {
        let rest = ["http://", "https://"]
            .iter()
            .find_map(|scheme| {
                target
                    .get(..scheme.len())
                    .filter(|p| p.eq_ignore_ascii_case(scheme))
                    .map(|_| &target[scheme.len()..])
            })
            .ok_or_else(|| Reject::bad("Invalid request target."))?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        if authority.is_empty() || authority.contains('@') {
            return Err(Reject::bad("Invalid authority in the request target."));
        }
        let value = HeaderValue::from_str(authority)
            .map_err(|_| Reject::bad("Invalid authority in the request target."))?;
        headers.insert(header::HOST, value);
        match &rest[end..] {
            "" => "/",
            path => path,
        }
    };
    // The path ends at `?`, where the query starts, or at `#`, a fragment (which clients
    // do not send, and which is not part of the query either).
    let (path, query) = match memchr::memchr2(b'?', b'#', origin.as_bytes()) {
        Some(i) if origin.as_bytes()[i] == b'?' => {
            let query = &origin[i + 1..];
            let query = query.split_once('#').map_or(query, |(query, _)| query);
            (&origin[..i], query)
        }
        Some(i) => (&origin[..i], ""),
        None => (origin, ""),
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok((decode_path(path), Text::from(query)))
}

/// A problem in a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkError {
    /// Bad syntax or an overflowing size.
    Invalid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    SizeWs,
    Ext,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    TrailerName,
    Trailer,
    TrailerLf,
    EndLf,
    Done,
}

/// Decodes `Transfer-Encoding: chunked`, byte by byte for the framing and in bulk for the
/// data. Strict: bare LFs, missing CRLFs, sizes of more than [`MAX_CHUNK_SIZE_DIGITS`]
/// digits and trailer lines that are not `name: value` are errors.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: ChunkState,
    /// Size of the current chunk, then what is left of it.
    size: u64,
    digits: usize,
    line: usize,
    trailer_bytes: usize,
    max_trailer_bytes: usize,
}

impl ChunkedDecoder {
    /// A decoder that accepts at most `max_trailer_bytes` of trailer fields.
    pub(crate) fn new(max_trailer_bytes: usize) -> Self {
        ChunkedDecoder {
            state: ChunkState::Size,
            size: 0,
            digits: 0,
            line: 0,
            trailer_bytes: 0,
            max_trailer_bytes,
        }
    }

    /// Whether the last chunk and the trailers have been read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decodes from `input` into `out`; returns `(consumed, produced)`. Stops when `out`
    /// is full, `input` is used up or the body ended.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), ChunkError> {
        let (mut i, mut o) = (0, 0);
        while i < input.len() && self.state != ChunkState::Done {
            if self.state == ChunkState::Data {
                if o == out.len() {
                    break;
                }
                let n = (self.size.min(usize::MAX as u64) as usize)
                    .min(input.len() - i)
                    .min(out.len() - o);
                out[o..o + n].copy_from_slice(&input[i..i + n]);
                i += n;
                o += n;
                self.size -= n as u64;
                if self.size == 0 {
                    self.state = ChunkState::DataCr;
                }
                continue;
            }
            let b = input[i];
            i += 1;
            self.state = self.step(b)?;
        }
        Ok((i, o))
    }

    fn step(&mut self, b: u8) -> Result<ChunkState, ChunkError> {
        use ChunkState::*;
        let invalid = Err(ChunkError::Invalid);
        match self.state {
            Size => {
                self.line += 1;
                if let Some(d) = (b as char).to_digit(16) {
                    if self.digits == MAX_CHUNK_SIZE_DIGITS {
                        return invalid;
                    }
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(d)))
                        .ok_or(ChunkError::Invalid)?;
                    self.digits += 1;
                    return Ok(Size);
                }
                if self.digits == 0 {
                    return invalid;
                }
                match b {
                    b' ' | b'\t' => Ok(SizeWs),
                    b';' => Ok(Ext),
                    b'\r' => Ok(SizeLf),
                    _ => invalid,
                }
            }
            SizeWs => match b {
                b' ' | b'\t' => self.count_line(SizeWs),
                b';' => self.count_line(Ext),
                b'\r' => Ok(SizeLf),
                _ => invalid,
            },
            Ext => match b {
                b'\r' => Ok(SizeLf),
                b'\t' | b' '..=b'~' | 0x80..=0xff => self.count_line(Ext),
                _ => invalid,
            },
            SizeLf if b == b'\n' => {
                self.line = 0;
                self.digits = 0;
                Ok(if self.size == 0 { TrailerStart } else { Data })
            }
            DataCr if b == b'\r' => Ok(DataLf),
            DataLf if b == b'\n' => {
                self.size = 0;
                Ok(Size)
            }
            TrailerStart if b == b'\r' => Ok(EndLf),
            // A trailer field is `name: value`: a token, a colon, then visible characters,
            // spaces and tabs. No colon, an empty name or a folded line is an error.
            TrailerStart | TrailerName => {
                self.count_trailer()?;
                match b {
                    b':' if self.state == TrailerName => Ok(Trailer),
                    _ if is_tchar(b) => Ok(TrailerName),
                    _ => invalid,
                }
            }
            Trailer => match b {
                b'\r' => Ok(TrailerLf),
                b'\t' | b' '..=b'~' | 0x80..=0xff => {
                    self.count_trailer()?;
                    Ok(Trailer)
                }
                _ => invalid,
            },
            TrailerLf if b == b'\n' => Ok(TrailerStart),
            EndLf if b == b'\n' => Ok(Done),
            _ => invalid,
        }
    }

    fn count_trailer(&mut self) -> Result<(), ChunkError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > self.max_trailer_bytes {
            Err(ChunkError::Invalid)
        } else {
            Ok(())
        }
    }

    fn count_line(&mut self, next: ChunkState) -> Result<ChunkState, ChunkError> {
        self.line += 1;
        if self.line > MAX_CHUNK_LINE {
            Err(ChunkError::Invalid)
        } else {
            Ok(next)
        }
    }
}

/// Whether `b` may appear in a token (a field name): RFC 9110's `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The current time as an HTTP date and as a log timestamp, recomputed once a second.
pub(crate) struct Clock {
    /// The second the texts are for: from `fresh_from` until `stale_at`.
    fresh_from: SystemTime,
    stale_at: SystemTime,
    http_date: String,
    log_stamp: String,
}

impl Clock {
    pub(crate) const fn new() -> Self {
        Clock {
            fresh_from: UNIX_EPOCH,
            stale_at: UNIX_EPOCH,
            http_date: String::new(),
            log_stamp: String::new(),
        }
    }

    fn refresh(&mut self) {
        let now = SystemTime::now();
        // Two comparisons: the texts change once a second (or when the clock is set).
        if now < self.fresh_from || now >= self.stale_at {
            let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            self.fresh_from = UNIX_EPOCH + Duration::from_secs(secs);
            self.stale_at = self.fresh_from + Duration::from_secs(1);
            self.http_date = httpdate::fmt_http_date(now);
            // "Tue, 24 Nov 2026 10:00:00 GMT" → "24/Nov/2026 10:00:00" (Werkzeug's format).
            self.log_stamp.clear();
            let parts: Vec<&str> = self.http_date.split(' ').collect();
            if let [_, day, month, year, time, _] = parts[..] {
                let _ = write!(self.log_stamp, "{day}/{month}/{year} {time}");
            }
        }
    }

    /// `Date` header value for now.
    pub(crate) fn http_date(&mut self) -> &str {
        self.refresh();
        &self.http_date
    }

    /// `24/Nov/2026 10:00:00` for now (UTC).
    pub(crate) fn log_stamp(&mut self) -> &str {
        self.refresh();
        &self.log_stamp
    }
}

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseFraming {
    /// No body bytes at all (HEAD, 1xx, 204, 304).
    NoBody,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 streams).
    Chunked,
    /// Until the connection closes (HTTP/1.0 streams).
    Close,
}

/// Writes a response head into `out`: status line, the app's headers minus the ones the
/// server owns, then framing, `Date`, `Server` and `Connection`.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    version: Version,
    status: StatusCode,
    headers: &HeaderMap,
    framing: ResponseFraming,
    keep_alive: bool,
    http_date: &str,
) {
    out.extend_from_slice(if version == Version::HTTP_10 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let (mut has_date, mut has_server) = (false, false);
    for (name, value) in headers {
        if name == header::CONNECTION
            || name == header::TRANSFER_ENCODING
            || name == "keep-alive"
            || (name == header::CONTENT_LENGTH && framing != ResponseFraming::NoBody)
        {
            continue;
        }
        has_date |= name == header::DATE;
        has_server |= name == header::SERVER;
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        ResponseFraming::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        ResponseFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        ResponseFraming::NoBody | ResponseFraming::Close => {}
    }
    if !has_date {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(http_date.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has_server {
        out.extend_from_slice(b"server: ");
        out.extend_from_slice(SERVER_HEADER.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    } else if version == Version::HTTP_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits {
        max_request_line: 8192,
        max_header_size: 65536,
        max_header_count: 100,
    };

    fn parse(raw: &str) -> Result<(Head, usize), Reject> {
        match parse_head(raw.as_bytes(), &LIMITS, &ConnInfo::default()) {
            Parsed::Complete(head, n) => Ok((*head, n)),
            Parsed::Partial => panic!("partial: {raw:?}"),
            Parsed::Error(r) => Err(r),
        }
    }

    fn status(raw: &str) -> u16 {
        parse(raw).unwrap_err().status.as_u16()
    }

    #[test]
    fn a_typical_request_has_its_environ_strings_inline() {
        let info = ConnInfo {
            remote_addr: Some("127.0.0.1".into()),
            remote_port: Some(50_000),
            server_name: "127.0.0.1".into(),
            server_port: 5000,
            url_scheme: "http".into(),
            ..ConnInfo::default()
        };
        let raw = "GET /caf%C3%A9/items?page=2 HTTP/1.1\r\nHost: localhost:5000\r\n\r\n";
        let Parsed::Complete(head, _) = parse_head(raw.as_bytes(), &LIMITS, &info) else {
            panic!("not parsed");
        };
        let env = head.environ;
        assert_eq!(env.path_info, "/café/items");
        assert_eq!(env.request_uri, "/caf%C3%A9/items?page=2");
        let fields = [
            &env.script_name,
            &env.path_info,
            &env.query_string,
            &env.request_uri,
            &env.url_scheme,
            &env.server_name,
            env.remote_addr.as_ref().unwrap(),
        ];
        assert!(fields.iter().all(|t| t.is_inline()), "{fields:?}");
    }

    #[test]
    fn parses_an_origin_form_request() {
        let (head, n) = parse("GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\n\r\nrest").unwrap();
        assert_eq!(n, 36);
        assert_eq!(head.environ.path_info, "/a b");
        assert_eq!(head.environ.query_string, "x=1");
        assert_eq!(head.environ.request_uri, "/a%20b?x=1");
        assert!(head.keep_alive);
        assert_eq!(head.framing, Framing::None);
    }

    #[test]
    fn host_values_are_checked_as_rfc_3986_hosts() {
        for ok in [
            "localhost",
            "127.0.0.1:5000",
            "example.com",
            "xn--caf-dma.example:8080",
            "a-b_c~d.e",
            "x!$&'()*+,;=y",
            "caf%C3%A9.example",
            "[::1]",
            "[::1]:5000",
            "[v1.fe80::a]",
            "host:",
            "",
        ] {
            assert!(is_valid_host(ok.as_bytes()), "{ok:?} should pass");
        }
        for bad in [
            "a b",
            "a/b",
            "a@b",
            "a\\b",
            "%",
            "%4",
            "%zz",
            "host:80a",
            "[::1",
            "[]",
            "[::1]x",
            "[::g]",
            "caf\u{e9}",
            "a\"b",
        ] {
            assert!(!is_valid_host(bad.as_bytes()), "{bad:?} should fail");
        }
    }

    #[test]
    fn a_fragment_is_neither_path_nor_query() {
        // As Werkzeug's `urlsplit` of the target.
        for (target, path, query) in [
            ("/a?b=1#frag", "/a", "b=1"),
            ("/a#f?x", "/a", ""),
            ("/a?b?c", "/a", "b?c"),
            ("/?#", "/", ""),
            ("/a#", "/a", ""),
            ("/a", "/a", ""),
        ] {
            let (head, _) = parse(&format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n")).unwrap();
            assert_eq!(head.environ.path_info, path, "{target}");
            assert_eq!(head.environ.query_string, query, "{target}");
        }
    }

    #[test]
    fn absolute_form_replaces_host() {
        let (head, _) =
            parse("GET http://example.com:8080/p?q HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(head.environ.path_info, "/p");
        assert_eq!(head.environ.query_string, "q");
        assert_eq!(head.environ.headers["host"], "example.com:8080");
    }

    #[test]
    fn options_star() {
        let (head, _) = parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(head.environ.path_info, "*");
        assert_eq!(status("GET * HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |raw: &str| parse(raw).unwrap().0.keep_alive;
        assert!(!ka("GET / HTTP/1.0\r\n\r\n"));
        assert!(ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(!ka(
            "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        ));
    }

    #[test]
    fn strict_framing() {
        assert_eq!(
            status(
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            400
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"),
            501
        );
        assert_eq!(
            status("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
            400
        );
        assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
        for bad in [
            "a b", "a/b", "a@b", "a:b:c", "a:8x", "[::1", "[::1]x", "[]", "a%2", "é",
        ] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
            assert_eq!(status(&raw), 400, "{bad}");
        }
        for good in [
            "",
            "a",
            "a:80",
            "a:",
            "10.0.0.1:8080",
            "[::1]",
            "[::1]:80",
            "x_y.a-b~",
            "a%20b",
        ] {
            let raw = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
            assert!(parse(&raw).is_ok(), "{good}");
        }
        assert_eq!(status("GET http://a b/ HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
        assert_eq!(
            status("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"),
            400
        );
        assert_eq!(
            status("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n"),
            400
        );
        assert_eq!(status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
        assert_eq!(status("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
        assert_eq!(status("GET / HTXP/1.1\r\nHost: a\r\n\r\n"), 400);
        assert_eq!(status("\x16\x03\x01garbage\r\n\r\n"), 400);
        // A bare LF anywhere in the head, before it or as its end.
        for bad in [
            "GET / HTTP/1.1\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\n\n",
            "GET / HTTP/1.1\r\nHost: a\n\n",
            "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            assert_eq!(status(bad), 400, "{bad:?}");
        }
        // Leading empty lines (CRLF) are still ignored, and a body after the head is not
        // part of it.
        assert!(parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").is_ok());
        assert!(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n\n\n").is_ok());
        let identical =
            parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n").unwrap();
        assert_eq!(identical.0.framing, Framing::Length(3));
    }

    #[test]
    fn limits() {
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
        match parse_head(long.as_bytes(), &LIMITS, &ConnInfo::default()) {
            Parsed::Error(r) => assert_eq!(r.status, 414),
            other => panic!("{other:?}"),
        }
        let many: String = (0..101).map(|i| format!("x{i}: y\r\n")).collect();
        assert_eq!(
            status(&format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n")),
            431
        );
        let big = format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n", "a".repeat(70_000));
        match parse_head(big.as_bytes(), &LIMITS, &ConnInfo::default()) {
            Parsed::Error(r) => assert_eq!(r.status, 431),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_counts_above_the_stack_slots_use_the_heap() {
        let limits = HeadLimits {
            max_header_count: 200,
            ..LIMITS
        };
        let many: String = (0..150).map(|i| format!("x{i}: y\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\nHost: h\r\n{many}\r\n");
        match parse_head(raw.as_bytes(), &limits, &ConnInfo::default()) {
            Parsed::Complete(head, _) => assert_eq!(head.environ.headers.len(), 151),
            other => panic!("{other:?}"),
        }
        let too_many: String = (0..200).map(|i| format!("x{i}: y\r\n")).collect();
        let raw = format!("GET / HTTP/1.1\r\nHost: h\r\n{too_many}\r\n");
        match parse_head(raw.as_bytes(), &limits, &ConnInfo::default()) {
            Parsed::Error(r) => assert_eq!(r.status, 431),
            other => panic!("{other:?}"),
        }
    }

    fn dechunk(input: &[u8]) -> Result<Vec<u8>, ChunkError> {
        let mut d = ChunkedDecoder::new(1024);
        let mut out = vec![0; 64];
        let (used, n) = d.decode(input, &mut out)?;
        assert!(d.is_done(), "not done after {used} bytes");
        out.truncate(n);
        Ok(out)
    }

    #[test]
    fn chunked_decoding() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert_eq!(dechunk(b"0\r\nX-T: 1\r\n\r\n").unwrap(), b"");
        assert!(dechunk(b"g\r\n").is_err());
        assert!(dechunk(b"3\nabc\r\n0\r\n\r\n").is_err());
        assert!(dechunk(b"3\r\nabcX\r\n").is_err());
        assert!(dechunk(b"fffffffffffffffff\r\n").is_err());
        // Sixteen digits are fine, leading zeros included; seventeen are not.
        assert_eq!(
            dechunk(b"0000000000000003\r\nabc\r\n0\r\n\r\n").unwrap(),
            b"abc"
        );
        assert!(dechunk(b"00000000000000003\r\nabc\r\n0\r\n\r\n").is_err());
        let zeros = format!("{}3\r\nabc\r\n0\r\n\r\n", "0".repeat(20_000));
        assert!(dechunk(zeros.as_bytes()).is_err());
        // Bare LFs in chunk lines and trailers.
        assert!(dechunk(b"3\r\nabc\n0\r\n\r\n").is_err());
        assert!(dechunk(b"3;x\nabc\r\n0\r\n\r\n").is_err());
        assert!(dechunk(b"0\r\nX-T: 1\n\r\n").is_err());
        assert!(dechunk(b"0\r\n\n").is_err());
        // Trailer lines must be `name: value`.
        assert_eq!(dechunk(b"0\r\nX-T:\r\nY: a b\r\n\r\n").unwrap(), b"");
        for bad in [
            &b"0\r\nno colon\r\n\r\n"[..],
            b"0\r\nnocolon\r\n\r\n",
            b"0\r\n: empty name\r\n\r\n",
            b"0\r\n folded: x\r\n\r\n",
            b"0\r\nX-T : 1\r\n\r\n",
            b"0\r\nX-T: a\x01b\r\n\r\n",
        ] {
            assert!(dechunk(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn response_heads() {
        let mut out = Vec::new();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/plain".parse().unwrap());
        headers.insert("content-length", "99".parse().unwrap());
        write_head(
            &mut out,
            Version::HTTP_11,
            StatusCode::OK,
            &headers,
            ResponseFraming::Length(5),
            true,
            "Tue, 24 Nov 2026 10:00:00 GMT",
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n"
            )
        );
        assert!(text.contains("server: zeug/"));
        assert!(!text.contains("99"));
    }

    #[test]
    fn clock_formats_werkzeug_stamps() {
        let mut clock = Clock::new();
        let stamp = clock.log_stamp().to_owned();
        assert_eq!(stamp.len(), 20, "{stamp}");
        assert_eq!(&stamp[2..3], "/");
        // The same second, in both forms, and it is now.
        let date = clock.http_date().to_owned();
        let at = httpdate::parse_http_date(&date).unwrap();
        let off = SystemTime::now().duration_since(at).unwrap();
        assert!(off < Duration::from_secs(2), "{date}");
        let [_, day, month, year, time, _] = date.split(' ').collect::<Vec<_>>()[..] else {
            panic!("{date}");
        };
        let fresh = clock.log_stamp();
        if fresh == stamp {
            assert_eq!(stamp, format!("{day}/{month}/{year} {time}"));
        }
    }
}
