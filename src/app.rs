//! The gateway interface: [`Application`], the one calling convention between servers,
//! middleware and apps.
//!
//! This module owns the trait and its blanket implementations. It does not know how a
//! request arrives (see [`crate::serving`] and [`crate::test`]) nor how it is routed
//! (see [`crate::routing`]).

use std::sync::Arc;

use crate::wrappers::IntoResponse;
use crate::{Environ, Response};

/// A web application: takes the request as the server hands it over and returns the
/// whole answer.
///
/// This is WSGI's `app(environ, start_response) -> iterable` made typed: the status and
/// headers that `start_response` would receive, and the body iterable, are the parts of the
/// returned [`Response`]. "Call `start_response` exactly once, before the body" is therefore
/// a property of the type, not a runtime rule.
///
/// Closures and functions taking an [`Environ`] and returning a [`Response`] are
/// applications — and so are those returning `Result<Response, E>` where the error converts
/// into a response (an [`HttpException`](crate::HttpException), a routing error; anything
/// [`IntoResponse`]), so `?` works at the top of an app. `Arc`s of applications (including
/// `Arc<dyn Application>`) are applications too, so middleware can share or erase what it
/// wraps.
///
/// # Examples
///
/// ```
/// use zeug::{Application, Environ, Request, Response};
///
/// fn simple_app(_environ: Environ) -> Response {
///     Response::new("Hello World!")
/// }
///
/// struct Hello;
/// impl Application for Hello {
///     fn call(&self, environ: Environ) -> Response {
///         Response::new(format!("Hello from {}", environ.path_info))
///     }
/// }
///
/// fn fallible_app(environ: Environ) -> Result<Response, zeug::HttpException> {
///     let who = Request::new(environ).args().get("who").ok_or_else(zeug::HttpException::bad_request)?.to_owned();
///     Ok(Response::new(format!("Hello {who}!")))
/// }
///
/// let client = zeug::test::Client::new(simple_app);
/// assert_eq!(client.get("/").send().text(), "Hello World!");
/// let client = zeug::test::Client::new(fallible_app);
/// assert_eq!(client.get("/?who=you").send().text(), "Hello you!");
/// assert_eq!(client.get("/").send().status(), 400);
/// let client = zeug::test::Client::new(Hello);
/// assert_eq!(client.get("/x").send().text(), "Hello from /x");
/// ```
pub trait Application: Send + Sync + 'static {
    /// Handles one request. Called by a server (or the test client, or a middleware)
    /// once per request, possibly from several threads at once.
    fn call(&self, environ: Environ) -> Response;
}

// One blanket impl over the return type: two impls for `Fn(Environ) -> Response` and
// `Fn(Environ) -> Result<..>` would overlap, as coherence does not tell closures apart by
// their output type.
impl<F, R> Application for F
where
    F: Fn(Environ) -> R + Send + Sync + 'static,
    R: IntoResponse,
{
    fn call(&self, environ: Environ) -> Response {
        self(environ).into_response()
    }
}

impl<A: Application + ?Sized> Application for Arc<A> {
    fn call(&self, environ: Environ) -> Response {
        (**self).call(environ)
    }
}

/// A type-erased, shareable application, for servers and middleware that hold "some app".
///
/// # Examples
///
/// ```
/// use zeug::{app::SharedApp, Environ, Response};
///
/// let app: SharedApp = std::sync::Arc::new(|_: Environ| Response::new("hi"));
/// ```
pub type SharedApp = Arc<dyn Application>;

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(_: Environ) -> Response {
        Response::new("hello")
    }

    #[test]
    fn fns_closures_and_arcs_are_applications() {
        fn takes(app: impl Application) -> String {
            app.call(Environ::default())
                .into_body()
                .into_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap()
        }
        assert_eq!(takes(hello), "hello");
        let fallible = |_: Environ| -> Result<Response, crate::HttpException> {
            Err(crate::HttpException::not_found())
        };
        assert!(takes(fallible).contains("Not Found"));
        assert_eq!(takes(|_: Environ| Response::new("closure")), "closure");
        let shared: SharedApp = Arc::new(hello);
        assert_eq!(takes(shared.clone()), "hello");
    }
}
