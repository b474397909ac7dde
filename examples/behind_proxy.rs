//! An app that reports what it sees from behind a reverse proxy: the client's address,
//! scheme, host and script root as `ProxyFix` rebuilt them, the raw `X-Forwarded-*`
//! headers, and which instance answered. `docs/deployment.md` runs two of these behind
//! nginx, and `tests/nginx.rs` does the same for real.
//!
//! ```text
//! # one instance on TCP
//! cargo run --example behind_proxy                          # 127.0.0.1:5000
//! # two instances on Unix sockets, as behind nginx
//! INSTANCE=a HOST=unix:///run/zeug/app-1.sock cargo run --example behind_proxy
//! INSTANCE=b SOCKET=/run/zeug/app-2.sock cargo run --example behind_proxy
//! curl 'http://localhost/whoami?delay_ms=50'
//! ```
//!
//! Environment: `HOST` and `PORT` (default `127.0.0.1:5000`; `HOST=unix:///path` serves
//! on a Unix socket), or `SOCKET=/path` for a Unix socket; `PROCESSES=N` forks N worker
//! processes sharing the socket; `INSTANCE` names the instance in answers (default: the
//! process id). `?delay_ms=N` (at most [`MAX_DELAY_MS`]) makes
//! the answer take that long, to keep requests in flight.

use std::time::Duration;

use zeug::middleware::{ProxyFix, ProxyFixOriginal};
use zeug::{Application, Environ, Request, Response};

/// The longest `delay_ms` honoured.
const MAX_DELAY_MS: u64 = 2000;

/// The instance name: `INSTANCE`, or the process id.
fn instance() -> String {
    std::env::var("INSTANCE").unwrap_or_else(|_| std::process::id().to_string())
}

/// Reports the request as the app sees it, as JSON, with an `X-Instance` header.
fn report(environ: Environ) -> Response {
    let original = environ.extensions.get::<ProxyFixOriginal>().cloned();
    let request = Request::new(environ);
    if let Some(ms) = request
        .args()
        .get("delay_ms")
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms.min(MAX_DELAY_MS)));
    }
    let instance = instance();
    let header = |name: &str| request.header(name).map(str::to_owned);
    let body = serde_json::json!({
        "instance": instance,
        "pid": std::process::id(),
        "remote_addr": request.remote_addr(),
        "scheme": request.scheme(),
        "host": request.host(),
        "script_root": request.script_root(),
        "path": request.path(),
        "url": request.url(),
        "x_forwarded_for": header("x-forwarded-for"),
        "x_forwarded_proto": header("x-forwarded-proto"),
        "x_forwarded_host": header("x-forwarded-host"),
        "original_remote_addr": original.as_ref().and_then(|o| o.remote_addr.clone()),
        "original_host": original.as_ref().and_then(|o| o.host.clone()),
    });
    let mut response = Response::json(&body);
    if let Ok(v) = instance.parse() {
        response.headers_mut().insert("x-instance", v);
    }
    response
}

/// The application: [`report`] behind `ProxyFix`, trusting one proxy (nginx) for
/// `X-Forwarded-For`, `-Proto`, `-Host` and `-Prefix`, exactly what `deploy/nginx.conf`
/// sets.
pub fn app() -> impl Application {
    ProxyFix::new(report)
        .x_for(1)
        .x_proto(1)
        .x_host(1)
        .x_prefix(1)
}

fn main() -> std::io::Result<()> {
    let host = match std::env::var("SOCKET") {
        Ok(path) if !path.is_empty() => format!("unix://{path}"),
        _ => std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned()),
    };
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(5000);
    let processes = std::env::var("PROCESSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let options = zeug::serving::Options::new().processes(processes);
    zeug::serving::run_simple_with(&host, port, app(), options)
}
