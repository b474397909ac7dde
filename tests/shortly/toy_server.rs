//! The toy server of `docs/how-it-works.md`: the gateway interface is all a server needs.
//! The doc shows this file's code verbatim (checked by `tests/shortly.rs`).

use std::io::{Read, Write};
use std::net::TcpListener;
use zeug::{Application, Environ};

fn serve(app: impl Application, listener: TcpListener) -> std::io::Result<()> {
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut buf = vec![0; 8192];
        let n = stream.read(&mut buf)?;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut headers);
        if !matches!(parsed.parse(&buf[..n]), Ok(httparse::Status::Complete(_))) {
            continue; // a real server answers 400 and handles partial reads
        }
        let mut builder = http::Request::builder()
            .method(parsed.method.unwrap_or("GET"))
            .uri(parsed.path.unwrap_or("/"));
        for h in parsed.headers.iter() {
            builder = builder.header(h.name, h.value);
        }
        let environ = Environ::from(builder.body(bytes::Bytes::new()).unwrap());
        let (status, headers, body) = app.call(environ).into_parts();
        let body = body.into_bytes()?;
        write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n",
            body.len()
        )?;
        for (name, value) in &headers {
            stream.write_all(name.as_str().as_bytes())?;
            stream.write_all(b": ")?;
            stream.write_all(value.as_bytes())?;
            stream.write_all(b"\r\n")?;
        }
        stream.write_all(b"connection: close\r\n\r\n")?;
        stream.write_all(&body)?;
    }
    Ok(())
}

#[test]
fn serves_shortly_over_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::shortly::storage::FileStore::open(dir.path().join("shortly.db")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let app = crate::shortly::create_app(Box::new(store), true);
    // The accept loop never ends; the thread goes away with the test process.
    std::thread::spawn(move || serve(app, listener));
    let get = |path: &str| {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        // One write: the toy server reads the head with a single `read`.
        let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let answer = get("/");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("<title>Create a short URL | shortly</title>"));
    let answer = get("/static/style.css");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: text/css")
    );
    assert!(get("/nope+").starts_with("HTTP/1.1 404 Not Found\r\n"));
}
