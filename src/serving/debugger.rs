//! The `use_debugger` panic page: when a view panics, the developer sees the panic message,
//! where it happened, the backtrace and a summary of the request, instead of a bare 500.
//!
//! This module owns recording panics (a panic hook that keeps the last panic of each
//! thread, backtrace included), the loopback check and rendering the page. It does not
//! catch panics or log them (the connection code does, with the request line), and it has
//! no interactive console: unlike Werkzeug's debugger nothing here evaluates code, so there
//! is no PIN.
//!
//! The page reveals source paths and header values, so it is only served to a browser on
//! this machine talking to this machine: a loopback `remote_addr`, a `Host` of
//! `localhost`, `127.0.0.1` or `[::1]` (any port; any other name could be a DNS-rebinding
//! page in that browser, Werkzeug's CVE-2024-34069), and no proxy header (`Forwarded`,
//! `X-Forwarded-*`, `X-Real-IP`, `Via`: a reverse proxy on the same host would otherwise
//! make every client look local). Everyone else, and clients of a Unix socket, get the
//! plain 500 page.

use std::any::Any;
use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::panic;
use std::sync::Once;

use http::StatusCode;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};

use crate::environ::Text;
use crate::exceptions::escape_html;
use crate::{Environ, HttpException, Response};

/// Headers whose values the page never shows, even to the developer (credentials end up in
/// screenshots and bug reports).
const REDACTED_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// The most header fields the page lists; a hostile request with thousands of fields
/// would otherwise make a huge page.
const MAX_LISTED_HEADERS: usize = 100;

/// The most bytes of one header value the page shows.
const MAX_HEADER_VALUE_LEN: usize = 1024;

/// One panic as the hook saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PanicReport {
    /// The panic message (`panic!("...")`'s text, or a placeholder for other payloads).
    pub(crate) message: String,
    /// `file:line:column` of the `panic!`, if known.
    pub(crate) location: Option<String>,
    /// The backtrace with the panic machinery's own frames removed; `None` when the hook
    /// was not installed.
    pub(crate) backtrace: Option<String>,
}

thread_local! {
    /// The last panic on this thread, recorded by the hook and taken by the page.
    static LAST_PANIC: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Installs (once per process) a panic hook that records every panic's message, location
/// and backtrace for [`take_report`], then calls the hook that was installed before (so
/// the usual `thread '…' panicked at …` line still reaches stderr). Logs
/// ` * Debugger is active!`, as Werkzeug does.
// hook for server core: call when `use_debugger` is on, before serving.
pub(crate) fn install_panic_hook() {
    INSTALL.call_once(|| {
        log::info!(target: "zeug", " * Debugger is active!");
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let report = PanicReport {
                message: payload_message(info.payload()),
                location: info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())),
                backtrace: Some(trim_backtrace(&Backtrace::force_capture().to_string())),
            };
            // `try_with`: the thread may be tearing down its thread-locals.
            let _ = LAST_PANIC.try_with(|last| *last.borrow_mut() = Some(report));
            previous(info);
        }));
    });
}

/// The report for the panic whose payload `catch_unwind` just returned on this thread: the
/// hook's record when there is one for this payload, else what the payload itself says.
pub(crate) fn take_report(payload: &(dyn Any + Send)) -> PanicReport {
    let message = payload_message(payload);
    let recorded = LAST_PANIC
        .try_with(|last| last.borrow_mut().take())
        .ok()
        .flatten();
    match recorded {
        Some(report) if report.message == message => report,
        _ => PanicReport {
            message,
            location: None,
            backtrace: None,
        },
    }
}

/// The text of a panic payload: `panic!` with a literal or a format string gives a `&str`
/// or a `String`; `panic_any` with another type gives a placeholder.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any> (a panic payload that is not a string)".to_owned()
    }
}

/// Keeps the frames that matter from a rendered backtrace: from the code that panicked
/// (the panic machinery above it — the hook, `std::panicking`, `core::panicking`,
/// `unwrap_failed` — is dropped) down to where the server called the application (the
/// server's own frames below are summed up in one line).
fn trim_backtrace(rendered: &str) -> String {
    // A rendered frame is "  N: function" followed by "      at file:line:col" lines.
    let mut frames: Vec<(String, Vec<&str>)> = Vec::new();
    for line in rendered.lines() {
        let trimmed = line.trim_start();
        let is_frame_start = trimmed
            .split_once(": ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if is_frame_start || frames.is_empty() {
            let function = trimmed
                .split_once(": ")
                .map(|(_, f)| f)
                .unwrap_or(trimmed)
                .to_owned();
            frames.push((function, vec![line]));
        } else if let Some(last) = frames.last_mut() {
            last.1.push(line);
        }
    }
    const MACHINERY: [&str; 10] = [
        "std::",
        "core::",
        "alloc::",
        "<std::",
        "<core::",
        "<alloc::",
        "__rust",
        "rust_begin_unwind",
        "zeug::serving::debugger::",
        "<unknown>",
    ];
    let machinery = |f: &str| MACHINERY.iter().any(|m| f.starts_with(m));
    let first_own = frames.iter().position(|(f, _)| !machinery(f)).unwrap_or(0);
    let server = frames[first_own..]
        .iter()
        .position(|(f, _)| f.starts_with("zeug::serving::"))
        .map(|i| first_own + i);
    // Frames between the app and the server's own frames are `catch_unwind`'s.
    let last_own = match server {
        Some(end) => frames[first_own..end]
            .iter()
            .rposition(|(f, _)| !machinery(f))
            .map_or(end, |i| first_own + i + 1),
        None => frames.len(),
    };
    let mut out: Vec<&str> = frames[first_own..last_own]
        .iter()
        .flat_map(|(_, lines)| lines.iter().copied())
        .collect();
    let omitted = frames.len() - last_own;
    let note;
    if omitted > 0 && server.is_some() {
        note = format!("      ({omitted} frames of the server and the runtime omitted)");
        out.push(&note);
    }
    out.join("\n")
}

/// What the page shows about the request; captured before the environ is handed to the
/// app (which consumes it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RequestSummary {
    /// The request line: method, target as sent, version.
    pub(crate) request_line: String,
    /// The client's address, if the transport has one.
    pub(crate) remote_addr: Option<Text>,
    /// `wsgi.url_scheme`.
    pub(crate) url_scheme: Text,
    /// Header fields in order, credentials redacted, at most [`MAX_LISTED_HEADERS`].
    pub(crate) headers: Vec<(String, String)>,
    /// Whether a proxy said it forwarded the request (so the peer address is not the
    /// client's).
    forwarded: bool,
    /// Whether the request names this machine by a loopback name in `Host`.
    local_host: bool,
}

/// Headers a proxy adds; any of them means the peer address is not the client's.
const PROXY_HEADERS: [&str; 4] = ["forwarded", "x-real-ip", "via", "client-ip"];

/// The `Host` names the debug page is shown for (any port).
const LOCAL_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// Whether a `Host` header value is `localhost`, `127.0.0.1` or `[::1]`, with or without
/// a port.
fn is_local_host(value: &[u8]) -> bool {
    let Ok(value) = std::str::from_utf8(value) else {
        return false;
    };
    let name = match value.rfind(':') {
        // `[::1]` alone: the colons are inside the brackets.
        Some(i) if !value[i..].contains(']') => {
            let port = &value[i + 1..];
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            &value[..i]
        }
        _ => value,
    };
    LOCAL_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

impl RequestSummary {
    /// Captures what the page needs from `environ`.
    // hook for server core: call before `app.call(environ)` when `use_debugger` is on.
    pub(crate) fn capture(environ: &Environ) -> Self {
        let headers = environ
            .headers
            .iter()
            .take(MAX_LISTED_HEADERS)
            .map(|(name, value)| {
                let shown = if REDACTED_HEADERS.contains(&name.as_str()) {
                    "[redacted]".to_owned()
                } else {
                    let text = String::from_utf8_lossy(value.as_bytes());
                    truncate(&text, MAX_HEADER_VALUE_LEN)
                };
                (name.as_str().to_owned(), shown)
            })
            .collect();
        RequestSummary {
            request_line: format!(
                "{} {} {:?}",
                environ.method, environ.request_uri, environ.version
            ),
            remote_addr: environ.remote_addr.clone(),
            url_scheme: environ.url_scheme.clone(),
            headers,
            forwarded: environ.headers.keys().any(|name| {
                PROXY_HEADERS.contains(&name.as_str()) || name.as_str().starts_with("x-forwarded-")
            }),
            local_host: {
                let mut hosts = environ.headers.get_all(http::header::HOST).iter();
                matches!((hosts.next(), hosts.next()), (Some(host), None) if is_local_host(host.as_bytes()))
            },
        }
    }

    /// Whether the client is on this machine, asked for this machine by a loopback name,
    /// and no proxy stands between: only then is the debug page shown.
    pub(crate) fn is_local_client(&self) -> bool {
        !self.forwarded && self.local_host && self.remote_addr.as_deref().is_some_and(is_loopback)
    }
}

/// Whether `addr` (an IP address as text, as in `REMOTE_ADDR`) is a loopback address,
/// IPv4-mapped IPv6 loopback included.
pub(crate) fn is_loopback(addr: &str) -> bool {
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The response for a panicking view when `use_debugger` is on: the debug page for a
/// local client, the plain 500 page for anyone else.
// hook for server core: call with `catch_unwind`'s payload and the captured summary.
pub(crate) fn panic_response(payload: &(dyn Any + Send), summary: &RequestSummary) -> Response {
    let report = take_report(payload);
    if summary.is_local_client() {
        debug_page(&report, summary)
    } else {
        HttpException::internal_server_error().into_response()
    }
}

/// Renders the debug page (status 500, HTML, never cached). Every value is HTML-escaped.
pub(crate) fn debug_page(report: &PanicReport, summary: &RequestSummary) -> Response {
    let mut html = String::with_capacity(4096);
    html.push_str(
        "<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n\
         <title>Panic // zeug debugger</title>\n<style>\n\
         body{font-family:system-ui,sans-serif;margin:2em;color:#000;background:#fff}\n\
         h1{color:#b00;font-size:1.5em}\nh2{font-size:1.1em;margin-top:1.5em}\n\
         pre{background:#f4f4f4;padding:.8em;overflow:auto;font-size:.85em}\n\
         table{border-collapse:collapse}td,th{text-align:left;padding:.2em .8em;\
         border-bottom:1px solid #ddd;vertical-align:top;font-family:monospace}\n\
         .hint{color:#666;font-size:.85em}\n</style>\n",
    );
    let _ = write!(
        html,
        "<h1>Panic while handling {}</h1>\n<pre class=message>{}</pre>\n",
        escape_html(&summary.request_line),
        escape_html(&report.message),
    );
    if let Some(location) = &report.location {
        let _ = writeln!(
            html,
            "<p>at <code class=location>{}</code></p>",
            escape_html(location)
        );
    }
    html.push_str("<h2>Backtrace</h2>\n");
    match &report.backtrace {
        Some(bt) => {
            let _ = writeln!(html, "<pre class=backtrace>{}</pre>", escape_html(bt));
        }
        None => html.push_str("<p class=hint>No backtrace was captured for this panic.</p>\n"),
    }
    html.push_str("<h2>Request</h2>\n<table>\n");
    let mut row = |name: &str, value: &str| {
        let _ = writeln!(
            html,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape_html(name),
            escape_html(value)
        );
    };
    row("request", &summary.request_line);
    row("scheme", &summary.url_scheme);
    row(
        "remote address",
        summary.remote_addr.as_deref().unwrap_or("(none)"),
    );
    for (name, value) in &summary.headers {
        row(name, value);
    }
    html.push_str("</table>\n");
    html.push_str(
        "<p class=hint>This page is shown because the server runs with <code>use_debugger</code> \
         and the request came from this machine. Other clients get a plain \
         \"500 Internal Server Error\". Never run the debugger on a server others can reach \
         through a proxy you do not control.</p>\n",
    );
    let mut res = Response::new(html).with_status(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = res.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test::EnvironBuilder;

    fn summary_from(remote: Option<&str>, headers: &[(&str, &str)]) -> RequestSummary {
        let mut builder = EnvironBuilder::new("GET", "/boom?x=<1>");
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            builder = builder.header("Host", "localhost:5000");
        }
        for (n, v) in headers {
            builder = builder.header(n, v);
        }
        let mut environ = builder.build();
        environ.remote_addr = remote.map(Text::from);
        RequestSummary::capture(&environ)
    }

    #[test]
    fn loopback_addresses_are_recognised() {
        for addr in ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "::ffff:127.0.0.1"] {
            assert!(is_loopback(addr), "{addr}");
        }
        for addr in [
            "10.0.0.1",
            "192.168.1.2",
            "::",
            "fe80::1",
            "::ffff:10.0.0.1",
            "",
            "x",
        ] {
            assert!(!is_loopback(addr), "{addr}");
        }
    }

    #[test]
    fn only_direct_loopback_clients_are_local() {
        assert!(summary_from(Some("127.0.0.1"), &[]).is_local_client());
        assert!(summary_from(Some("::1"), &[]).is_local_client());
        assert!(!summary_from(Some("203.0.113.9"), &[]).is_local_client());
        assert!(!summary_from(None, &[]).is_local_client());
        assert!(
            !summary_from(Some("127.0.0.1"), &[("x-forwarded-for", "203.0.113.9")])
                .is_local_client()
        );
        assert!(
            !summary_from(Some("127.0.0.1"), &[("forwarded", "for=1.2.3.4")]).is_local_client()
        );
        for proxy in ["x-real-ip", "via", "x-forwarded-host", "x-forwarded-proto"] {
            assert!(
                !summary_from(Some("127.0.0.1"), &[(proxy, "1.1 proxy")]).is_local_client(),
                "{proxy}"
            );
        }
    }

    #[test]
    fn only_loopback_host_names_are_local() {
        for host in [
            "localhost",
            "LOCALHOST:5000",
            "127.0.0.1",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:5000",
        ] {
            assert!(
                summary_from(Some("127.0.0.1"), &[("host", host)]).is_local_client(),
                "{host}"
            );
        }
        for host in [
            "attacker.example",
            "attacker.example:5000",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "localhost:",
            "localhost:50x",
            "127.0.0.2",
            "[::2]",
            "::1",
            "",
        ] {
            assert!(
                !summary_from(Some("127.0.0.1"), &[("host", host)]).is_local_client(),
                "{host}"
            );
        }
    }

    #[test]
    fn summary_redacts_credentials_and_bounds_values() {
        let long = "v".repeat(5000);
        let s = summary_from(
            Some("127.0.0.1"),
            &[
                ("authorization", "Basic c2VjcmV0"),
                ("cookie", "session=secret"),
                ("x-long", &long),
            ],
        );
        assert_eq!(s.request_line, "GET /boom?x=<1> HTTP/1.1");
        let get = |n: &str| {
            s.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("authorization").as_deref(), Some("[redacted]"));
        assert_eq!(get("cookie").as_deref(), Some("[redacted]"));
        assert!(get("x-long").unwrap().len() <= MAX_HEADER_VALUE_LEN + 3);
    }

    #[test]
    fn page_escapes_everything_it_shows() {
        let report = PanicReport {
            message: "bad <script>alert(1)</script> & more".into(),
            location: Some("src/<x>.rs:1:2".into()),
            backtrace: Some("0: app::<impl Foo>::view".into()),
        };
        let summary = summary_from(Some("127.0.0.1"), &[("x-evil", "\"><img src=x>")]);
        let res = debug_page(&report, &summary);
        assert_eq!(res.status(), 500);
        assert_eq!(res.mimetype(), "text/html");
        assert_eq!(res.headers()["cache-control"], "no-store");
        let body = res.body_text().unwrap();
        assert!(!body.contains("<script>alert"), "{body}");
        assert!(!body.contains("<img"), "{body}");
        assert!(body.contains("bad &lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
        assert!(body.contains("src/&lt;x&gt;.rs:1:2"));
        assert!(body.contains("app::&lt;impl Foo&gt;::view"));
        assert!(body.contains("GET /boom?x=&lt;1&gt; HTTP/1.1"));
        assert!(body.contains("&quot;&gt;&lt;img src=x&gt;"));
    }

    #[test]
    fn hooked_panics_carry_message_location_and_backtrace() {
        install_panic_hook();
        let payload = std::panic::catch_unwind(|| {
            let n = 3;
            panic!("view failed for id {n}");
        })
        .unwrap_err();
        let summary = summary_from(Some("127.0.0.1"), &[]);
        let res = panic_response(payload.as_ref(), &summary);
        assert_eq!(res.status(), 500);
        let body = res.body_text().unwrap();
        assert!(body.contains("view failed for id 3"), "{body}");
        assert!(body.contains("debugger.rs:"), "{body}");
        assert!(body.contains("class=backtrace"), "{body}");
        // The record is taken: a second, unhooked payload does not reuse it.
        let report = take_report(&"other");
        assert_eq!(report.message, "other");
        assert_eq!(report.backtrace, None);
    }

    #[test]
    fn remote_clients_get_the_plain_500() {
        install_panic_hook();
        let payload = std::panic::catch_unwind(|| panic!("secret detail")).unwrap_err();
        let summary = summary_from(Some("198.51.100.7"), &[]);
        let res = panic_response(payload.as_ref(), &summary);
        assert_eq!(res.status(), 500);
        let body = res.body_text().unwrap();
        assert!(!body.contains("secret detail"));
        assert!(body.contains("Internal Server Error"));
    }

    #[test]
    fn non_string_payloads_get_a_placeholder() {
        assert_eq!(payload_message(&"x"), "x");
        assert_eq!(payload_message(&String::from("y")), "y");
        assert!(payload_message(&42u32).contains("not a string"));
    }

    #[test]
    fn backtrace_trimming_starts_at_the_panicking_code() {
        let rendered = "   0: std::backtrace::Backtrace::force_capture\n             at /rustc/x/backtrace.rs:1:1\n   1: zeug::serving::debugger::install_panic_hook::{{closure}}\n   2: std::panicking::rust_panic_with_hook\n   3: myapp::view\n             at src/main.rs:10:5\n   4: main\n";
        let trimmed = trim_backtrace(rendered);
        assert!(
            trimmed.trim_start().starts_with("3: myapp::view"),
            "{trimmed}"
        );
        assert!(trimmed.contains("src/main.rs:10:5"));
        assert!(trimmed.contains("4: main"));
    }
}
