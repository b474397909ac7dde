//! Handing a connection over after a `101 Switching Protocols` response (WebSockets).
//!
//! When a view answers with an [`Upgrade`] body, `conn.rs` returns it to the server
//! untouched ([`Handover`]); [`hand_over`] then takes the connection out of the event loop
//! (deregistered from the poller, its socket moved out of the loop's table), switches it
//! to blocking mode with timeouts, writes the `101` head and runs the upgrade function on a
//! thread of its own. Those threads count against `max_threads`, the same budget as the
//! threads that take over slow requests: when it is spent the client gets `503` and the
//! connection stays an ordinary HTTP one. A panicking upgrade function is logged and ends
//! only its own connection. Stopping the server shuts every handed-over connection down,
//! so their handlers end too.
//!
//! This module owns that handover. It does not speak any protocol on the connection
//! (`crate::websocket` does) nor own the event loop (`server.rs`).

use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{StatusCode, Version};
use log::Level;

use super::conn::{self, ConnIo, Stream};
use super::http1::ConnInfo;
use super::logging;
use crate::upgrade::{Upgrade, Upgraded};
use crate::{Body, HttpException, Response};

/// What `conn.rs` hands back instead of writing a response whose body is an [`Upgrade`].
pub(crate) struct Handover {
    /// The view's response (`101`, its headers, the upgrade function as body).
    pub(crate) response: Response,
    /// The request's HTTP version.
    pub(crate) version: Version,
    /// `GET /ws HTTP/1.1`, for the access log.
    pub(crate) request_line: String,
    /// Whether the request body (if any) was read to its end: a connection with body
    /// bytes still in flight cannot change protocol.
    pub(crate) body_read: bool,
}

/// The connections one server handed over and still running, so that stopping the
/// server ends them (their handlers' reads see the end of the stream) instead of leaving
/// their threads behind.
#[derive(Default)]
pub(crate) struct HandedOver {
    open: Mutex<Vec<(u64, Upgraded)>>,
    next: std::sync::atomic::AtomicU64,
    stopped: std::sync::atomic::AtomicBool,
}

impl HandedOver {
    /// Keeps a handle to `conn`; when the server is already stopping, ends it at once.
    fn add(&self, conn: &Upgraded) -> Option<u64> {
        use std::sync::atomic::Ordering;
        let handle = conn.try_clone().ok()?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if self.stopped.load(Ordering::SeqCst) {
            let _ = handle.shutdown();
            return None;
        }
        open.push((id, handle));
        Some(id)
    }

    fn remove(&self, id: u64) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|(i, _)| *i != id);
    }

    /// Ends every handed-over connection (both directions shut down).
    pub(crate) fn shut_down_all(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let open = std::mem::take(&mut *self.open.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, conn) in open {
            let _ = conn.shutdown();
        }
    }
}

/// The server's thread budget, as the handover sees it.
pub(crate) trait ThreadBudget: Send + Sync + 'static {
    /// Counts one more thread against `max_threads`; false when none is left.
    fn acquire_thread(&self) -> bool;
    /// Gives back a thread counted by [`acquire_thread`](Self::acquire_thread).
    fn release_thread(&self);
    /// Whether the server is shutting down (no new upgrades then).
    fn shutting_down(&self) -> bool;
    /// The connections handed over so far, which a shutdown ends.
    fn handed_over(&self) -> &HandedOver;
}

/// Gives a thread back, and forgets the connection, when dropped (also when the upgrade
/// function panics).
struct Permit {
    budget: Arc<dyn ThreadBudget>,
    conn: Option<u64>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(id) = self.conn {
            self.budget.handed_over().remove(id);
        }
        self.budget.release_thread();
    }
}

/// Takes the connection behind `io` over for `handover`'s upgrade function, or answers why
/// not. The connection is always done with afterwards as far as the event loop is
/// concerned: the caller closes its entry (which then holds no socket of ours).
pub(crate) fn hand_over(
    budget: Arc<dyn ThreadBudget>,
    registry: &mio::Registry,
    io: &Mutex<ConnIo>,
    info: &ConnInfo,
    handover: Handover,
    io_timeout: Duration,
) {
    let Handover {
        response,
        version,
        request_line,
        body_read,
    } = handover;
    let (status, headers, body) = response.into_parts();
    let Body::Upgrade(upgrade) = body else {
        unreachable!("conn.rs hands over upgrade bodies only");
    };
    let refusal = if status != StatusCode::SWITCHING_PROTOCOLS {
        log::error!(
            target: logging::LOG_TARGET,
            "Error on request \"{request_line}\": an upgrade response must have the status 101, not {status}; answering 500"
        );
        Some((StatusCode::INTERNAL_SERVER_ERROR, None))
    } else if !body_read || version != Version::HTTP_11 {
        Some((
            StatusCode::BAD_REQUEST,
            Some("Only an HTTP/1.1 request without a body can switch protocols."),
        ))
    } else if budget.shutting_down() {
        Some((
            StatusCode::SERVICE_UNAVAILABLE,
            Some("The server is shutting down."),
        ))
    } else if !budget.acquire_thread() {
        logging::client_message(
            Level::Warn,
            info.remote_addr.as_deref(),
            "upgrade refused: all max_threads threads are busy",
        );
        Some((
            StatusCode::SERVICE_UNAVAILABLE,
            Some("The server has no thread free for another upgraded connection."),
        ))
    } else {
        None
    };
    let mut conn = conn::lock(io);
    if let Some((status, reason)) = refusal {
        let mut page = HttpException::new(status);
        if let Some(reason) = reason {
            page = page.with_description(reason);
        }
        let written = write_page(&mut conn, version, page.into_response());
        logging::access(info.remote_addr.as_deref(), &request_line, status, None);
        if written.is_err() {
            logging::client_message(
                Level::Debug,
                info.remote_addr.as_deref(),
                "client disconnected before the refusal of its upgrade",
            );
        }
        return;
    }
    let mut permit = Permit { budget, conn: None };
    let taken = take_stream(registry, &mut conn);
    drop(conn);
    let upgraded = taken.and_then(|(stream, read_ahead)| into_upgraded(stream, read_ahead));
    let mut upgraded = match upgraded {
        Ok(u) => u,
        Err(e) => {
            log::error!(target: logging::LOG_TARGET, "cannot hand a connection over: {e}");
            logging::access(
                info.remote_addr.as_deref(),
                &request_line,
                StatusCode::SERVICE_UNAVAILABLE,
                None,
            );
            return;
        }
    };
    let head = switching_protocols_head(&headers);
    let written = upgraded
        .set_write_timeout(Some(io_timeout))
        .and_then(|()| upgraded.set_read_timeout(Some(io_timeout)))
        .and_then(|()| upgraded.write_all(&head))
        .and_then(|()| upgraded.flush());
    if let Err(e) = written {
        logging::client_message(
            Level::Debug,
            info.remote_addr.as_deref(),
            &format!("client disconnected before the upgrade: {e}"),
        );
        logging::access(
            info.remote_addr.as_deref(),
            &request_line,
            StatusCode::SWITCHING_PROTOCOLS,
            None,
        );
        return;
    }
    logging::access(
        info.remote_addr.as_deref(),
        &request_line,
        StatusCode::SWITCHING_PROTOCOLS,
        None,
    );
    permit.conn = permit.budget.handed_over().add(&upgraded);
    let remote = info.remote_addr.clone();
    let spawned = std::thread::Builder::new()
        .name("zeug-upgraded".into())
        .spawn(move || run(upgrade, upgraded, permit, &request_line, remote.as_deref()));
    if let Err(e) = spawned {
        // The permit, the function and the connection were dropped with the closure.
        log::error!(target: logging::LOG_TARGET, "cannot start a thread for an upgraded connection: {e}");
    }
}

/// Runs the upgrade function; a panic is logged and closes only this connection.
fn run(upgrade: Upgrade, conn: Upgraded, permit: Permit, request_line: &str, remote: Option<&str>) {
    let closer = conn.try_clone().ok();
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| upgrade.run(conn))) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Box<dyn Any>".to_owned());
        log::error!(
            target: logging::LOG_TARGET,
            "Error on request \"{request_line}\" from {}: the upgraded connection's handler panicked: {message}",
            remote.unwrap_or("<local>")
        );
    }
    if let Some(closer) = closer {
        let _ = closer.shutdown();
    }
    logging::flush();
    drop(permit);
}

/// Deregisters the connection's socket from the loop and moves it out of `io` (leaving an
/// unconnected placeholder socket there), with the bytes already received after the head.
fn take_stream(registry: &mio::Registry, io: &mut ConnIo) -> io::Result<(Stream, Bytes)> {
    let placeholder = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let placeholder = Stream::Tcp(mio::net::TcpStream::from_std(placeholder.into()));
    let _ = registry.deregister(io.stream.source());
    let stream = std::mem::replace(&mut io.stream, placeholder);
    let read_ahead = Bytes::copy_from_slice(io.pending());
    io.clear_pending();
    Ok((stream, read_ahead))
}

/// The socket in blocking mode, as an [`Upgraded`] connection.
fn into_upgraded(stream: Stream, read_ahead: Bytes) -> io::Result<Upgraded> {
    match stream {
        Stream::Tcp(s) => Upgraded::tcp(s.into(), read_ahead),
        #[cfg(unix)]
        Stream::Unix(s) => Upgraded::unix(s.into(), read_ahead),
        #[cfg(feature = "tls")]
        Stream::Tls(s) => {
            let socket = socket2::SockRef::from(s.get_ref()).try_clone()?;
            Upgraded::shared(*s, socket, read_ahead)
        }
    }
}

/// `HTTP/1.1 101 Switching Protocols` with the view's headers (`Upgrade`, `Connection`,
/// `Sec-WebSocket-Accept`…), a `Date` and no body framing.
fn switching_protocols_head(headers: &http::HeaderMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !headers.contains_key(http::header::DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(httpdate::fmt_http_date(std::time::SystemTime::now()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Writes a refusal page and asks to close the connection.
fn write_page(io: &mut ConnIo, version: Version, page: Response) -> io::Result<()> {
    let (status, headers, body) = page.into_parts();
    let body = body.into_bytes().unwrap_or_default();
    let mut out = Vec::with_capacity(256 + body.len());
    let _ = write!(
        out,
        "{} {} {}\r\n",
        if version == Version::HTTP_10 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        },
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    );
    let content_type = headers
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("text/plain"));
    out.extend_from_slice(b"content-type: ");
    out.extend_from_slice(content_type.as_bytes());
    let _ = write!(
        out,
        "\r\ncontent-length: {}\r\ndate: {}\r\nconnection: close\r\n\r\n",
        body.len(),
        httpdate::fmt_http_date(std::time::SystemTime::now())
    );
    out.extend_from_slice(&body);
    io.write_all(&out)?;
    io.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_keeps_the_views_headers_and_no_framing() {
        let res = Upgrade::new(|_| {}).into_response("websocket");
        let mut headers = res.headers().clone();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        let head = String::from_utf8(switching_protocols_head(&headers)).unwrap();
        assert!(
            head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{head}"
        );
        assert!(head.contains("connection: upgrade\r\n"), "{head}");
        assert!(head.contains("upgrade: websocket\r\n"), "{head}");
        assert!(head.contains("date: "), "{head}");
        assert!(!head.contains("content-length"), "{head}");
        assert!(head.ends_with("\r\n\r\n"));
    }
}
