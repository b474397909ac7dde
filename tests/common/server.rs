//! A server on an ephemeral loopback port, served on a thread and shut down on drop, and a
//! raw client that writes bytes exactly as given.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use zeug::Application;
use zeug::serving::{Options, ShutdownHandle, make_server};

/// A server on `127.0.0.1:<ephemeral>`, stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub handle: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Shuts the server down and returns how `serve_forever` ended.
    pub fn stop(mut self) -> thread::Result<std::io::Result<()>> {
        self.handle.shutdown();
        self.thread.take().expect("the server runs").join()
    }

    pub fn start(app: impl Application, options: Options) -> TestServer {
        let server = make_server("127.0.0.1", 0, app, options).expect("the server binds");
        let addr = server.local_addr().inet().expect("a TCP address");
        let handle = server.shutdown_handle();
        let thread = Some(thread::spawn(move || server.serve_forever()));
        TestServer {
            addr,
            handle,
            thread,
        }
    }

    /// Writes `raw` on a fresh connection, half-closes it, and returns everything the
    /// server sent until it closed the connection.
    pub fn exchange(&self, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect(self.addr).expect("the server accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(raw).expect("the request is written");
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The status code of the first response in `answer`, or 0 when there is none.
pub fn status_of(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}
