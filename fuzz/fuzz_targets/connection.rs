//! Feeds arbitrary bytes to the server's connection handler, as one client's whole stream,
//! over a real socket pair: request heads, bodies, pipelining, chunked framing, `Expect`,
//! everything a client controls. The server must never panic, never hang past its
//! timeouts, and only ever answer with HTTP/1.x responses.
//!
//! Run with `cargo +nightly fuzz run connection` (from the repository root).
#![no_main]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use zeug::serving::{serve_connection, Options};
use zeug::{Environ, Response};

/// Reads the body (up to 64 KiB) and answers in the three body shapes the server frames;
/// `/status?N` answers with status N and a body (1xx, 204, 205 and 304 must not carry it).
fn app(mut environ: Environ) -> Response {
    let mut body = Vec::new();
    let read = (&mut environ.input).take(64 * 1024).read_to_end(&mut body);
    match (environ.path_info.as_str(), read) {
        (_, Err(e)) => Response::new(format!("read error: {e}")).with_status(400),
        ("/stream", Ok(_)) => Response::stream(vec![body.clone(), body]),
        ("/empty", Ok(_)) => Response::new("").with_status(204),
        ("/status", Ok(_)) => {
            let status = environ.query_string.parse::<u16>().unwrap_or(200);
            Response::new("body").with_status(status)
        }
        (_, Ok(n)) => Response::new(format!("{} {} {n}", environ.method, environ.path_info)),
    }
}

fuzz_target!(|data: &[u8]| {
    let (client, server) = UnixStream::pair().expect("a socket pair");
    let mut writer = client.try_clone().expect("a second handle");
    let input = data.to_vec();
    let feeding = thread::spawn(move || {
        // The server may close early (a refused head); a broken pipe is fine.
        let _ = writer.write_all(&input);
        let _ = writer.shutdown(std::net::Shutdown::Write);
    });
    let mut client = client;
    let reading = thread::spawn(move || {
        let mut out = Vec::new();
        let _ = client.read_to_end(&mut out);
        out
    });
    let options = Options::new()
        .header_timeout(Duration::from_millis(200))
        .keep_alive_timeout(Duration::from_millis(200))
        .io_timeout(Duration::from_millis(200))
        .max_content_length(1024 * 1024);
    serve_connection(server, app, options).expect("serving a connection");
    feeding.join().expect("the feeder");
    let out = reading.join().expect("the reader");
    assert!(out.is_empty() || out.starts_with(b"HTTP/1."), "not HTTP: {out:?}");
});
