//! Strict HTTP/1.1 framing over real loopback sockets: what a lenient parser accepts and a
//! front-end in front of it might read differently (request smuggling) is a 400 here.

mod common;

use std::io::Read;

use common::{TestServer, status_of};
use zeug::serving::Options;
use zeug::{Environ, Response};

fn echo_length(mut environ: Environ) -> Response {
    let mut body = Vec::new();
    match environ.input.read_to_end(&mut body) {
        Ok(n) => Response::new(format!("read {n} bytes")),
        Err(e) => Response::new(format!("read failed: {e}")).with_status(400),
    }
}

fn server() -> TestServer {
    TestServer::start(echo_length, Options::new())
}

#[test]
fn well_formed_requests_still_pass() {
    let server = server();
    let answer = server.exchange(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          0000000000000003\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Checksum: 1\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.ends_with("read 5 bytes"), "{answer}");
}

#[test]
fn a_bare_lf_in_the_head_is_400() {
    let server = server();
    for raw in [
        &b"GET / HTTP/1.1\nHost: a\r\nConnection: close\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\n\n",
    ] {
        let answer = server.exchange(raw);
        assert_eq!(
            status_of(&answer),
            400,
            "{:?} -> {answer}",
            String::from_utf8_lossy(raw)
        );
        assert!(!answer.contains("read "), "{answer}");
    }
}

fn chunked(body: &str) -> Vec<u8> {
    format!(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{body}"
    )
    .into_bytes()
}

#[test]
fn chunk_sizes_longer_than_16_digits_are_400() {
    let server = server();
    let zeros = format!("{}3\r\nabc\r\n0\r\n\r\n", "0".repeat(20_000));
    for body in [zeros.as_str(), "00000000000000003\r\nabc\r\n0\r\n\r\n"] {
        let answer = server.exchange(&chunked(body));
        assert_eq!(status_of(&answer), 400, "{answer}");
        assert!(!answer.contains("read 3 bytes"), "{answer}");
    }
}

#[test]
fn bare_lfs_in_chunk_lines_and_trailers_are_400() {
    let server = server();
    for body in [
        "3\nabc\r\n0\r\n\r\n",
        "3\r\nabc\n0\r\n\r\n",
        "3;x=y\nabc\r\n0\r\n\r\n",
        "3\r\nabc\r\n0\r\nX-T: 1\n\r\n",
    ] {
        let answer = server.exchange(&chunked(body));
        assert_eq!(status_of(&answer), 400, "{body:?} -> {answer}");
    }
}

#[test]
fn trailer_lines_without_a_colon_are_400() {
    let server = server();
    for body in [
        "3\r\nabc\r\n0\r\nno colon here\r\n\r\n",
        "3\r\nabc\r\n0\r\n: no name\r\n\r\n",
        "3\r\nabc\r\n0\r\nX-T: 1\r\n folded\r\n\r\n",
    ] {
        let answer = server.exchange(&chunked(body));
        assert_eq!(status_of(&answer), 400, "{body:?} -> {answer}");
    }
}
