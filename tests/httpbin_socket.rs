//! The httpbin example over a real socket: `zeug::serving::make_server` on port 0, driven by
//! `ureq` and by a raw TCP client that watches a streaming response arrive piece by piece.

#[path = "../examples/httpbin/app.rs"]
#[allow(dead_code)]
mod app;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zeug::serving::{Options, make_server};

/// A running server that is shut down when dropped, even if the test fails.
struct Running {
    addr: SocketAddr,
    handle: Option<zeug::serving::ShutdownHandle>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn start() -> Running {
        let server = make_server("127.0.0.1", 0, app::HttpBin::new(), Options::new())
            .expect("bind a loopback port");
        let addr = server.local_addr().inet().expect("a TCP address");
        let handle = server.shutdown_handle();
        let thread = std::thread::spawn(move || server.serve_forever());
        Running {
            addr,
            handle: Some(handle),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .redirects(0)
        .build()
}

#[test]
fn get_post_status_and_redirects_over_http() {
    let server = Running::start();
    let agent = agent();

    let res = agent.get(&server.url("/get?a=1&a=2")).call().unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let v: Value = res.into_json().unwrap();
    assert_eq!(v["args"], json!({"a": ["1", "2"]}));
    assert_eq!(v["origin"], "127.0.0.1");
    assert_eq!(v["headers"]["Host"], server.addr.to_string());
    assert_eq!(v["url"], server.url("/get?a=1&a=2"));

    let res = agent
        .post(&server.url("/post"))
        .send_json(json!({"k": [1, 2]}))
        .unwrap();
    let v: Value = res.into_json().unwrap();
    assert_eq!(v["json"], json!({"k": [1, 2]}));
    assert_eq!(v["headers"]["Content-Type"], "application/json");

    match agent.get(&server.url("/status/418")).call() {
        Err(ureq::Error::Status(418, res)) => {
            assert_eq!(
                res.header("x-more-info"),
                Some("http://tools.ietf.org/html/rfc2324")
            );
        }
        other => panic!("expected a 418, got {other:?}"),
    }

    let res = agent.get(&server.url("/redirect/2")).call().unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.header("location"), Some("/relative-redirect/1"));
    // ureq follows the chain to /get when allowed to.
    let res = ureq::AgentBuilder::new()
        .redirects(5)
        .build()
        .get(&server.url("/redirect/3"))
        .call()
        .unwrap();
    assert_eq!(res.get_url(), server.url("/get"));
}

/// Cookies through a real client over a socket, as a browser keeps them (RFC 6265 §5.4:
/// the name-value pair sent back verbatim). The `Set-Cookie` values are the ones Werkzeug
/// 3.1.9 writes for the same values (so a Flask service sharing them reads the same text),
/// except the RFC 6265 quoted form, sent as is.
#[test]
fn cookie_round_trip_with_a_real_client() {
    let server = Running::start();
    let agent = agent();
    let res = agent
        .get(&server.url(
            "/cookies/set?plain=abc&space=x%20y&semi=a%3Bb&utf8=%C3%A9&wrapped=%22bar:baz%22&esc=a%5Cb%22c",
        ))
        .call()
        .unwrap();
    assert_eq!(res.status(), 302);
    let set: Vec<String> = res
        .all("set-cookie")
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        set,
        [
            "plain=abc; Path=/",
            "space=\"x y\"; Path=/",
            "semi=\"a\\073b\"; Path=/",
            "utf8=\"\\303\\251\"; Path=/",
            "wrapped=\"bar:baz\"; Path=/",
            "esc=\"a\\\\b\\\"c\"; Path=/",
        ]
    );
    // The jar a browser keeps: each pair as it came.
    let jar: Vec<&str> = set
        .iter()
        .map(|c| c.split("; Path=").next().unwrap())
        .collect();
    let res = agent
        .get(&server.url("/cookies"))
        .set("cookie", &jar.join("; "))
        .call()
        .unwrap();
    let v: Value = res.into_json().unwrap();
    assert_eq!(
        v["cookies"],
        json!({
            "plain": "abc",
            "space": "x y",
            "semi": "a;b",
            "utf8": "é",
            "wrapped": "bar:baz",
            "esc": "a\\b\"c",
        })
    );
    // A percent-encoded name is not the prefixed cookie it spells.
    let res = agent
        .get(&server.url("/cookies"))
        .set("cookie", "%5F%5FHost-id=forged")
        .call()
        .unwrap();
    let v: Value = res.into_json().unwrap();
    assert_eq!(v["cookies"], json!({"%5F%5FHost-id": "forged"}));
    // Deleting: an expired, empty cookie for the same path.
    let res = agent
        .get(&server.url("/cookies/delete?space"))
        .call()
        .unwrap();
    let deleted = res.header("set-cookie").unwrap();
    assert!(
        deleted.starts_with("space=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"),
        "{deleted}"
    );
}

#[test]
fn gzip_and_chunked_stream_over_http() {
    let server = Running::start();
    let res = agent().get(&server.url("/gzip")).call().unwrap();
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    let mut json = String::new();
    flate2::read::GzDecoder::new(res.into_reader())
        .read_to_string(&mut json)
        .unwrap();
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["gzipped"], true);

    let res = agent().get(&server.url("/stream/5")).call().unwrap();
    assert_eq!(res.header("transfer-encoding"), Some("chunked"));
    let text = res.into_string().unwrap();
    let ids: Vec<i64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
}

/// Sends a raw HTTP/1.1 request and returns the reader positioned after the head, with the
/// head's lines.
fn raw_get(addr: SocketAddr, path: &str) -> (BufReader<TcpStream>, Vec<String>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    (reader, head)
}

#[test]
fn drip_arrives_byte_by_byte_before_the_last_is_made() {
    let server = Running::start();
    let start = Instant::now();
    let (mut reader, head) = raw_get(server.addr, "/drip?numbytes=4&duration=2");
    assert!(head[0].starts_with("HTTP/1.1 200"), "{head:?}");
    let mut first = [0u8; 1];
    reader.read_exact(&mut first).unwrap();
    let first_at = start.elapsed();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    let last_at = start.elapsed();
    assert_eq!(first[0], b'*');
    assert_eq!(rest, b"***");
    // The bytes are made 0.5 s apart, the last 1.5 s in: the first came long before.
    assert!(
        first_at < Duration::from_millis(1000),
        "first byte at {first_at:?}"
    );
    assert!(
        last_at >= Duration::from_millis(1400),
        "last byte at {last_at:?}"
    );
}

#[test]
fn range_streams_its_first_chunk_before_the_last_exists() {
    let server = Running::start();
    let start = Instant::now();
    // 3 chunks of 10 bytes over 1.2 s: each chunk is made 0.4 s after the one before.
    let (mut reader, head) = raw_get(server.addr, "/range/30?chunk_size=10&duration=1.2");
    assert!(head[0].starts_with("HTTP/1.1 200"), "{head:?}");
    let mut first = [0u8; 10];
    reader.read_exact(&mut first).unwrap();
    let first_at = start.elapsed();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert_eq!(&first, b"abcdefghij");
    assert_eq!(rest, b"klmnopqrstuvwxyzabcd");
    // The third chunk is made 0.8 s in; the first left long before.
    assert!(
        first_at < Duration::from_millis(600),
        "first chunk at {first_at:?}"
    );
    assert!(start.elapsed() >= Duration::from_millis(750));
}
