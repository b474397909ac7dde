//! The gateway interface: [`Application`], the one calling convention between servers,
//! middleware and apps.
//!
//! This module owns the trait and its blanket implementations. It does not know how a
//! request arrives (see [`crate::serving`] and [`crate::test`]) nor how it is routed
//! (see [`crate::routing`]).

use std::sync::Arc;

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
/// applications, and so are `Arc`s of applications (including `Arc<dyn Application>`), so
/// middleware can share or erase what it wraps.
///
/// # Examples
///
/// ```
/// use zeug::{Application, Environ, Response};
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
/// let client = zeug::test::Client::new(simple_app);
/// assert_eq!(client.get("/").send().text(), "Hello World!");
/// let client = zeug::test::Client::new(Hello);
/// assert_eq!(client.get("/x").send().text(), "Hello from /x");
/// ```
pub trait Application: Send + Sync + 'static {
    /// Handles one request. Called by a server (or the test client, or a middleware)
    /// once per request, possibly from several threads at once.
    fn call(&self, environ: Environ) -> Response;
}

impl<F> Application for F
where
    F: Fn(Environ) -> Response + Send + Sync + 'static,
{
    fn call(&self, environ: Environ) -> Response {
        self(environ)
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
        assert_eq!(takes(|_: Environ| Response::new("closure")), "closure");
        let shared: SharedApp = Arc::new(hello);
        assert_eq!(takes(shared.clone()), "hello");
    }
}
