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

fn main() {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .unwrap_or_else(|_| panic!("PORT must be a port number, got {p:?}")),
        Err(_) => 5000,
    };
    if let Err(e) = zeug::serving::run_simple(&host, port, app::HttpBin::new()) {
        eprintln!("httpbin: {e}");
        std::process::exit(1);
    }
}
