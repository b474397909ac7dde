//! The `use_debugger` page over real loopback sockets: shown only to a browser on this
//! machine that names this machine (`localhost`, `127.0.0.1`, `[::1]`) and comes through
//! no proxy; everyone else gets the plain 500 (Werkzeug's CVE-2024-34069: a DNS-rebinding
//! page, or a reverse proxy on the same host, must not see source paths and headers).

mod common;

use common::{TestServer, status_of};
use zeug::serving::Options;
use zeug::{Environ, Response};

fn boom(_: Environ) -> Response {
    panic!("the secret detail of a failing view");
}

fn debug_server() -> TestServer {
    TestServer::start(boom, Options::new().use_debugger(true))
}

fn shows_page(answer: &str) -> bool {
    answer.contains("the secret detail of a failing view")
}

fn request(host: Option<&str>, extra: &str) -> Vec<u8> {
    let host = host.map(|h| format!("Host: {h}\r\n")).unwrap_or_default();
    format!("GET /boom HTTP/1.1\r\n{host}{extra}Connection: close\r\n\r\n").into_bytes()
}

#[test]
fn the_page_is_shown_for_loopback_host_names_on_any_port() {
    let server = debug_server();
    let port = server.addr.port();
    for host in [
        "localhost".to_owned(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "127.0.0.1:1".to_owned(),
        format!("[::1]:{port}"),
    ] {
        let answer = server.exchange(&request(Some(&host), ""));
        assert_eq!(status_of(&answer), 500, "{answer}");
        assert!(shows_page(&answer), "Host {host}: {answer}");
    }
}

#[test]
fn other_host_names_get_the_plain_500() {
    let server = debug_server();
    for host in [
        "attacker.example",
        "attacker.example:5000",
        "localhost.attacker.example",
        "127.0.0.1.nip.io",
        "10.0.0.1",
    ] {
        let answer = server.exchange(&request(Some(host), ""));
        assert_eq!(status_of(&answer), 500, "{answer}");
        assert!(!shows_page(&answer), "Host {host}: {answer}");
        assert!(answer.contains("Internal Server Error"), "{answer}");
    }
    // HTTP/1.0 without a Host names nothing: no page either.
    let answer = server.exchange(b"GET /boom HTTP/1.0\r\n\r\n");
    assert_eq!(status_of(&answer), 500, "{answer}");
    assert!(!shows_page(&answer), "{answer}");
}

#[test]
fn any_proxy_header_hides_the_page() {
    let server = debug_server();
    for header in [
        "X-Forwarded-For: 203.0.113.9\r\n",
        "X-Real-IP: 203.0.113.9\r\n",
        "Forwarded: for=203.0.113.9\r\n",
        "Via: 1.1 proxy.example\r\n",
    ] {
        let answer = server.exchange(&request(Some("localhost"), header));
        assert_eq!(status_of(&answer), 500, "{answer}");
        assert!(!shows_page(&answer), "{header}: {answer}");
    }
}

#[test]
fn without_the_debugger_nobody_sees_the_page() {
    let server = TestServer::start(boom, Options::new());
    let answer = server.exchange(&request(Some("localhost"), ""));
    assert_eq!(status_of(&answer), 500, "{answer}");
    assert!(!shows_page(&answer), "{answer}");
}
