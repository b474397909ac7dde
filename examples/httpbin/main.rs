//! httpbin on zeug: an HTTP request and response service for testing HTTP clients, with
//! the behaviour of the Python `httpbin` package.
//!
//! ```text
//! cargo run --example httpbin                 # http://127.0.0.1:5000/
//! HOST=0.0.0.0 PORT=8080 cargo run --release --example httpbin
//! ```
//!
//! The application is in `app.rs` (rules and dispatch) and one module per group of
//! endpoints; `docs/httpbin.md` explains how it is built and where it differs from httpbin.

mod app;

/// The largest request body httpbin accepts.
const MAX_BODY: u64 = 16 * 1024 * 1024;

fn main() {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .unwrap_or_else(|_| panic!("PORT must be a port number, got {p:?}")),
        Err(_) => 5000,
    };
    // Uploads are echoed back as JSON, so a body costs several times its size in memory:
    // bodies over 16 MiB are refused with 413 before the app sees them.
    let options = zeug::serving::Options::new().max_content_length(MAX_BODY);
    if let Err(e) = zeug::serving::run_simple_with(&host, port, app::HttpBin::new(), options) {
        eprintln!("httpbin: {e}");
        std::process::exit(1);
    }
}
