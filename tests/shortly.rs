//! The Shortly example's storage (`examples/shortly/storage.rs`); the full suite follows
//! once routing and the server are in.

#[path = "../examples/shortly/storage.rs"]
#[allow(dead_code)]
mod storage;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use storage::{RedisStore, Store};

/// How long a freshly started `redis-server` may take to answer.
const REDIS_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A `redis-server` of our own on a free loopback port, in a temp dir, with persistence
/// off; killed when dropped.
struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    fn start() -> RedisServer {
        // A port picked by binding to 0 may be taken again before redis binds it: retry.
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start redis-server ({e}); scripts/test.sh installs it (apt)")
                });
            let mut server = RedisServer {
                child,
                port,
                _dir: dir,
            };
            if server.wait_ready() {
                return server;
            }
        }
        panic!("redis-server did not come up on a free port");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + REDIS_START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false; // exited: most likely the port was taken
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && RedisStore::open(&self.url()).is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_redis_store_uses_the_tutorials_keys() {
    use redis::Commands;
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    assert_eq!(store.insert_url("https://a.example/").unwrap(), "1");
    assert_eq!(store.insert_url("https://b.example/").unwrap(), "2");
    assert_eq!(store.insert_url("https://a.example/").unwrap(), "1");
    store.incr_clicks("2").unwrap();
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut get = |key: &str| -> Option<String> { conn.get(key).unwrap() };
    assert_eq!(get("last-url-id").as_deref(), Some("2"));
    assert_eq!(get("url-target:1").as_deref(), Some("https://a.example/"));
    assert_eq!(get("reverse-url:https://b.example/").as_deref(), Some("2"));
    assert_eq!(get("click-count:2").as_deref(), Some("1"));
    assert_eq!(get("click-count:1"), None);
    assert_eq!(store.click_count("2").unwrap(), 1);
    assert_eq!(store.click_count("1").unwrap(), 0);
    assert_eq!(store.get_target("3").unwrap(), None);
}

#[test]
fn the_redis_store_shortens_each_url_once_under_concurrency() {
    let server = RedisServer::start();
    let store = std::sync::Arc::new(RedisStore::open(&server.url()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..20)
                    .map(|i| store.insert_url(&format!("https://c.example/{i}")).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<Vec<String>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for other in &results[1..] {
        assert_eq!(other, &results[0], "every thread sees the same id per URL");
    }
    for id in &results[0] {
        store.incr_clicks(id).unwrap();
    }
    assert_eq!(store.click_count(&results[0][0]).unwrap(), 1);
}

#[test]
fn a_wrong_redis_url_fails_at_start_up() {
    let port = free_port(); // nothing listens there
    let err = RedisStore::open(&format!("redis://127.0.0.1:{port}/"))
        .err()
        .expect("no server, no store");
    assert!(err.to_string().starts_with("redis:"), "{err}");
}
