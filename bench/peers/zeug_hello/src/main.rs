//! Hello World on zeug's development server: `run_simple` with the smallest app, answering
//! every request with the same "Hello World!" as `bench/peers/hyper_hello` and
//! `bench/werkzeug_hello.py`, so that `bench/serve.sh` compares the servers, not the apps.
//! The access log stays on, as it is by default. Listens on `HOST`:`PORT` (default
//! 127.0.0.1:5003). `SLOW_HANDLER_THRESHOLD_MS` raises the slow-handler threshold, for
//! counting instructions under callgrind (which runs every view some fifty times slower,
//! past the default 2 ms).

use std::time::Duration;

use zeug::serving::Options;
use zeug::{Environ, Response};

/// The app: WSGI's hello world, `Content-Type: text/plain; charset=utf-8`.
fn hello(_environ: Environ) -> Response {
    Response::new("Hello World!")
}

fn main() -> std::io::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = match std::env::var("PORT") {
        Ok(p) => p.parse().expect("PORT must be a port number"),
        Err(_) => 5003,
    };
    let mut options = Options::new();
    if let Ok(ms) = std::env::var("SLOW_HANDLER_THRESHOLD_MS") {
        let ms = ms
            .parse()
            .expect("SLOW_HANDLER_THRESHOLD_MS must be milliseconds");
        options = options.slow_handler_threshold(Duration::from_millis(ms));
    }
    zeug::serving::run_simple_with(&host, port, hello, options)
}
