//! Hello World, the two ways a zeug app is written.
//!
//! - [`simple_app`]: WSGI's `simple_app` as a plain function. Any
//!   `Fn(Environ) -> Response` is an [`Application`].
//! - [`Hello`]: the `Shortly` pattern from Werkzeug's tutorial. A struct implements
//!   [`Application`] by wrapping the environ in a [`Request`] and dispatching to views that
//!   return `Result<Response, HttpException>`.
//!
//! Run it with `cargo run --example hello` and open <http://127.0.0.1:5000/?name=zeug>.
//! `HOST` and `PORT` in the environment change the address. `tests/hello_example.rs`
//! drives both apps through the test client, without a socket.

use zeug::{Application, Environ, HttpException, Request, Response};

/// The smallest application: the same answer for every request.
pub fn simple_app(_environ: Environ) -> Response {
    Response::new("Hello World!")
}

/// A greeter in the `Shortly` style: state on the struct, one method per view.
pub struct Hello {
    /// Who is greeted when the request names nobody.
    default_name: String,
}

impl Hello {
    /// A greeter that says "Hello World!" unless the request names someone.
    pub fn new() -> Self {
        Hello {
            default_name: "World".to_owned(),
        }
    }

    /// Picks the view for the request's path.
    fn dispatch_request(&self, request: &Request) -> Result<Response, HttpException> {
        match request.path() {
            "/" => self.on_index(request),
            path => match path.strip_prefix("/hello/") {
                Some(name) if !name.is_empty() && !name.contains('/') => Ok(self.greet(name)),
                _ => Err(HttpException::not_found()),
            },
        }
    }

    /// `/` and `/?name=...`: greets the name from the query string.
    fn on_index(&self, request: &Request) -> Result<Response, HttpException> {
        let name = match request.args().get("name") {
            Some("") => {
                return Err(HttpException::bad_request().with_description("The name is empty."));
            }
            Some(name) => name,
            None => &self.default_name,
        };
        Ok(self.greet(name))
    }

    /// `/hello/<name>`.
    fn greet(&self, name: &str) -> Response {
        Response::new(format!("Hello {name}!"))
    }
}

impl Default for Hello {
    fn default() -> Self {
        Hello::new()
    }
}

impl Application for Hello {
    fn call(&self, environ: Environ) -> Response {
        let request = Request::new(environ);
        self.dispatch_request(&request)
            .unwrap_or_else(|e| e.into_response_for(request.headers()))
    }
}

#[allow(dead_code)] // `tests/hello_example.rs` includes this file without running `main`.
fn main() -> std::io::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = match std::env::var("PORT") {
        Ok(p) => p.parse().expect("PORT must be a port number"),
        Err(_) => 5000,
    };
    zeug::serving::run_simple(&host, port, Hello::new())
}
