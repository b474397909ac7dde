//! [`Dispatcher`]: several applications under one server, by URL prefix.
//!
//! This module owns choosing the application and moving the prefix from `path_info` to
//! `script_name`. It does not route inside an application (see [`crate::routing`]).

use crate::app::SharedApp;
use crate::{Application, Environ, Response};

/// Mounts applications under path prefixes, like Werkzeug's `DispatcherMiddleware`.
///
/// The longest mounted prefix that matches whole path segments wins (`/api` matches
/// `/api` and `/api/users` but not `/apix`); requests matching no prefix go to the
/// default application. The matched prefix moves from `path_info` to the end of
/// `script_name`, so the mounted application sees paths relative to its mount point and
/// builds URLs (`Request::url_root`, routing's `MapAdapter`) that include it.
///
/// # Examples
///
/// ```
/// use zeug::middleware::Dispatcher;
/// use zeug::{test::Client, Environ, Response};
///
/// fn show(env: Environ) -> Response {
///     Response::new(format!("script_name={} path_info={}", env.script_name, env.path_info))
/// }
/// let app = Dispatcher::new(|_: Environ| Response::new("frontend"))
///     .mount("/api", show)
///     .mount("/api/v2", |_: Environ| Response::new("v2"));
/// let client = Client::new(app);
/// assert_eq!(client.get("/api/users/1").send().text(), "script_name=/api path_info=/users/1");
/// assert_eq!(client.get("/api/v2/users").send().text(), "v2");
/// assert_eq!(client.get("/apix").send().text(), "frontend");
/// ```
pub struct Dispatcher {
    default: SharedApp,
    /// Sorted longest prefix first.
    mounts: Vec<(String, SharedApp)>,
}

impl Dispatcher {
    /// A dispatcher sending everything that matches no mount to `default`.
    pub fn new(default: impl Application) -> Self {
        Dispatcher {
            default: std::sync::Arc::new(default),
            mounts: Vec::new(),
        }
    }

    /// Mounts `app` under `prefix` (decoded, like `path_info`; a trailing `/` is ignored).
    ///
    /// # Panics
    ///
    /// When `prefix` does not start with `/`, is just `/` (that is the default
    /// application), or is mounted twice: these are set-up mistakes.
    pub fn mount(mut self, prefix: &str, app: impl Application) -> Self {
        let prefix = prefix.trim_end_matches('/');
        assert!(
            !prefix.is_empty(),
            "Dispatcher::mount: the root is the default application; pass it to Dispatcher::new"
        );
        assert!(
            prefix.starts_with('/'),
            "Dispatcher::mount: prefix {prefix:?} must start with '/'"
        );
        assert!(
            !self.mounts.iter().any(|(p, _)| p == prefix),
            "Dispatcher::mount: prefix {prefix:?} is mounted twice"
        );
        self.mounts
            .push((prefix.to_owned(), std::sync::Arc::new(app)));
        self.mounts.sort_by_key(|m| std::cmp::Reverse(m.0.len()));
        self
    }

    /// The mounted prefix `path` belongs to, if any.
    fn find(&self, path: &str) -> Option<(&str, &SharedApp)> {
        self.mounts.iter().find_map(|(prefix, app)| {
            let rest = path.strip_prefix(prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then_some((prefix.as_str(), app))
        })
    }
}

impl Application for Dispatcher {
    fn call(&self, mut environ: Environ) -> Response {
        match self.find(&environ.path_info) {
            Some((prefix, app)) => {
                environ.path_info = environ.path_info[prefix.len()..].into();
                environ.script_name = format!("{}{prefix}", environ.script_name).into();
                app.call(environ)
            }
            None => self.default.call(environ),
        }
    }
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field(
                "mounts",
                &self.mounts.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "must start with '/'")]
    fn relative_prefixes_are_refused() {
        let _ = Dispatcher::new(|_: Environ| Response::new(""))
            .mount("api", |_: Environ| Response::new(""));
    }

    #[test]
    #[should_panic(expected = "mounted twice")]
    fn duplicate_prefixes_are_refused() {
        let _ = Dispatcher::new(|_: Environ| Response::new(""))
            .mount("/a", |_: Environ| Response::new(""))
            .mount("/a/", |_: Environ| Response::new(""));
    }
}
