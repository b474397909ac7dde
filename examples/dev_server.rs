//! The development workflow: the reloader, the debugger, worker processes and HTTPS,
//! switched on with flags, the way `run_simple`'s options are used in practice.
//!
//! ```text
//! cargo run --example dev_server -- --reload --debug        # edit, `cargo build --example dev_server`, reload
//! cargo run --example dev_server -- --processes 4           # four worker processes, one socket
//! cargo run --features tls --example dev_server -- --adhoc  # https with a self-signed certificate
//! ```
//!
//! Flags: `--reload`, `--extra-file PATH` (repeatable), `--interval MS`, `--debug`,
//! `--processes N`, `--grace MS` (shutdown grace period), `--greeting-file PATH` (a file the
//! app reads at start-up; the reloader watches it), and with the `tls` feature `--adhoc`
//! or `--cert FILE --key FILE`. `HOST` and `PORT` come from the environment (default
//! 127.0.0.1:5000).
//!
//! Routes: `/` greets and names the process that answered (to see workers and restarts),
//! `/slow?ms=N` answers after N milliseconds (to watch a graceful shutdown), `/boom`
//! panics (to see the debug page). `tests/serving_processes.rs` drives this binary.

use std::time::Duration;

use zeug::serving::Options;
use zeug::{Application, Environ, HttpException, Request, Response};

/// The app: every route is a line or two, the point is the server around it.
pub struct DevApp {
    /// Read from `--greeting-file` at start-up ("Hello" without one).
    pub greeting: String,
}

impl Application for DevApp {
    fn call(&self, environ: Environ) -> Response {
        let request = Request::new(environ);
        self.dispatch(&request)
    }
}

impl DevApp {
    fn dispatch(&self, request: &Request) -> Response {
        match request.path() {
            "/" => Response::new(format!(
                "{} from process {}\n",
                self.greeting,
                std::process::id()
            )),
            "/slow" => {
                let ms = request
                    .args()
                    .get_as::<u64>("ms")
                    .unwrap_or(1000)
                    .min(60_000);
                // Says when it starts, so a test can signal the server mid-request. One
                // write per line: worker processes share stderr, and `eprintln!` may write
                // a line in pieces that another process's line then splits.
                let line = format!(
                    " * /slow: sleeping {ms} ms in process {}\n",
                    std::process::id()
                );
                let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
                std::thread::sleep(Duration::from_millis(ms));
                Response::new(format!("slept {ms} ms in process {}\n", std::process::id()))
            }
            "/boom" => {
                let id = request.args().get("id").unwrap_or("<none>").to_owned();
                panic!("the view for item {id} failed");
            }
            _ => HttpException::not_found().into_response(),
        }
    }
}

/// Turns the command line into [`Options`] and the greeting file's path; a bad flag is a
/// start-up error.
pub fn options_from_args(
    args: impl IntoIterator<Item = String>,
) -> Result<(Options, Option<String>), String> {
    let mut options = Options::new();
    let mut greeting_file = None;
    let mut args = args.into_iter();
    #[cfg(feature = "tls")]
    let (mut cert, mut key) = (None::<String>, None::<String>);
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--reload" => options = options.use_reloader(true),
            "--extra-file" => {
                let mut files = options.extra_files.clone();
                files.push(value("--extra-file")?.into());
                options = options.extra_files(files);
            }
            "--interval" => options = options.reloader_interval(millis(&value("--interval")?)?),
            "--debug" => options = options.use_debugger(true),
            "--processes" => {
                let n = value("--processes")?;
                options = options.processes(n.parse().map_err(|_| format!("bad count {n:?}"))?);
            }
            "--grace" => options = options.shutdown_grace_period(millis(&value("--grace")?)?),
            "--greeting-file" => greeting_file = Some(value("--greeting-file")?),
            #[cfg(feature = "tls")]
            "--adhoc" => options = options.ssl_context(zeug::serving::SslContext::Adhoc),
            #[cfg(feature = "tls")]
            "--cert" => cert = Some(value("--cert")?),
            #[cfg(feature = "tls")]
            "--key" => key = Some(value("--key")?),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    #[cfg(feature = "tls")]
    match (cert, key) {
        (Some(cert), Some(key)) => {
            options = options.ssl_context(zeug::serving::SslContext::files(cert, key))
        }
        (None, None) => {}
        _ => return Err("--cert and --key go together".into()),
    }
    if let Some(path) = &greeting_file {
        // The app reads it at start-up, so the reloader restarts the app when it changes.
        let mut files = options.extra_files.clone();
        files.push(path.into());
        options = options.extra_files(files);
    }
    Ok((options, greeting_file))
}

/// The first line of the greeting file; an empty file is a start-up error (under the
/// reloader, the server then waits for the file to be fixed).
pub fn read_greeting(path: Option<&str>) -> Result<String, String> {
    let Some(path) = path else {
        return Ok("Hello".to_owned());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    match text.lines().next().map(str::trim) {
        Some(line) if !line.is_empty() => Ok(line.to_owned()),
        _ => Err(format!("{path}: the greeting is empty")),
    }
}

fn millis(text: &str) -> Result<Duration, String> {
    text.parse()
        .map(Duration::from_millis)
        .map_err(|_| format!("bad milliseconds {text:?}"))
}

fn fail<T>(message: String) -> T {
    eprintln!("dev_server: {message}");
    std::process::exit(2)
}

#[allow(dead_code)] // `tests/serving_processes.rs` includes this file without running `main`.
fn main() -> std::io::Result<()> {
    let (options, greeting_file) = options_from_args(std::env::args().skip(1)).unwrap_or_else(fail);
    let greeting = read_greeting(greeting_file.as_deref()).unwrap_or_else(fail);
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = match std::env::var("PORT") {
        Ok(p) => p.parse().expect("PORT must be a port number"),
        Err(_) => 5000,
    };
    zeug::serving::run_simple_with(&host, port, DevApp { greeting }, options)
}
