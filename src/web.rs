//! A small, optional app struct for the boilerplate every app repeats: [`App`] matches the
//! URL, hands the view a per-request [`Ctx`] (the [`Request`], the bound URL adapter for
//! `url_for`, the matched values and the session), turns errors — routing errors, a view's
//! `Err`, a panic — into responses through error handlers registered by status, saves the
//! session, and can serve static files whose refusals get the same error pages.
//!
//! It is a convenience, not a framework: `App` is an [`Application`] like any other, built
//! from the public parts ([`Map::bind_to_environ`], [`MapAdapter::match_request`],
//! [`HttpException::into_response_with`], `sessions::SessionConfig::session`, [`SharedData`]).
//! Writing `impl Application` by hand, as Werkzeug's Shortly tutorial does, stays the
//! other way and works as before. This module does not own routing, sessions or static
//! files, only the wiring between them.
//!
//! # Examples
//!
//! ```
//! use zeug::web::{App, Ctx};
//! use zeug::{HttpException, Map, Response, Rule};
//!
//! #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
//! enum View { Index, Hello }
//!
//! fn dispatch(ctx: &mut Ctx<View>, view: View) -> Result<Response, HttpException> {
//!     match view {
//!         View::Index => {
//!             let link = ctx.url_for(View::Hello, &[("name", "zeug")])?;
//!             Ok(Response::html(format!("<a href=\"{link}\">say hello</a>")))
//!         }
//!         View::Hello => {
//!             let name = ctx.values.get::<&str>("name").ok_or_else(HttpException::not_found)?;
//!             Ok(Response::new(format!("Hello {name}!")))
//!         }
//!     }
//! }
//!
//! let app = App::new(
//!     Map::new([Rule::new("/", View::Index), Rule::new("/hello/<name>", View::Hello)]),
//!     dispatch,
//! )
//! .error_handler(404, |_ctx, e| e.into_response_with(Response::html("<h1>No such page</h1>")));
//!
//! let client = zeug::test::Client::new(app);
//! assert_eq!(client.get("/").send().text(), "<a href=\"/hello/zeug\">say hello</a>");
//! assert_eq!(client.get("/hello/you").send().text(), "Hello you!");
//! let missing = client.get("/nope").send();
//! assert_eq!((missing.status().as_u16(), missing.text().as_str()), (404, "<h1>No such page</h1>"));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use http::StatusCode;

use crate::middleware::Served;
use crate::middleware::SharedData;
use crate::routing::{BuildValues, Endpoint, MapAdapter, Values};
#[cfg(feature = "sessions")]
use crate::sessions::{Session, SessionConfig};
use crate::wrappers::IntoStatus;
use crate::{Application, Environ, HttpException, Map, Request, Response};

type View<E> = dyn Fn(&mut Ctx<'_, E>, E) -> Result<Response, HttpException> + Send + Sync;
type ErrorHandler<E> = dyn Fn(&mut Ctx<'_, E>, HttpException) -> Response + Send + Sync;

/// What a view gets for one request: the request, the URL adapter bound to it, the values
/// matched from the URL and (with sessions configured) the session.
///
/// # Examples
///
/// ```
/// use zeug::web::Ctx;
/// use zeug::{HttpException, Response};
///
/// #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// enum View { Index, Post }
///
/// fn post(ctx: &mut Ctx<View>) -> Result<Response, HttpException> {
///     let id: i64 = ctx.values.get("id").ok_or_else(HttpException::not_found)?;
///     let back = ctx.url_for(View::Index, &())?;
///     let agent = ctx.request.user_agent().unwrap_or("someone");
///     Ok(Response::new(format!("post {id} for {agent}; back to {back}")))
/// }
/// ```
pub struct Ctx<'a, E> {
    /// The request.
    pub request: &'a Request,
    /// The URL map bound to this request: `match_`, `build`, `allowed_methods`.
    pub urls: MapAdapter<'a, E>,
    /// The values matched from the URL (empty in an error handler for a URL that matched
    /// nothing).
    pub values: Values,
    #[cfg(feature = "sessions")]
    session: Option<Session>,
}

impl<E> fmt::Debug for Ctx<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("request", self.request)
            .field("values", &self.values)
            .finish_non_exhaustive()
    }
}

impl<E: Endpoint> Ctx<'_, E> {
    /// The URL of `endpoint` with `values` (relative to the host, as
    /// [`MapAdapter::build`]). A URL that cannot be built is the application's bug: a 500,
    /// logged with the reason, for `?`.
    pub fn url_for(
        &self,
        endpoint: E,
        values: &(impl BuildValues + ?Sized),
    ) -> Result<String, HttpException> {
        Ok(self.urls.build(&endpoint, values)?)
    }

    /// The request's session, opened when first read and saved by [`App`] after the view
    /// (with `Vary: Cookie` when it was read, a `Set-Cookie` when it changed).
    ///
    /// # Panics
    ///
    /// When the app was built without [`App::sessions`]: a set-up mistake, caught by the
    /// first test that reaches this view.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::sessions::SessionConfig;
    /// use zeug::web::{App, Ctx};
    /// use zeug::{HttpException, Map, Response, Rule};
    ///
    /// fn visits(ctx: &mut Ctx<&'static str>, _: &'static str) -> Result<Response, HttpException> {
    ///     let n = ctx.session().get::<u32>("visits").unwrap_or(0) + 1;
    ///     ctx.session().insert("visits", n);
    ///     Ok(Response::new(n.to_string()))
    /// }
    /// let app = App::new(Map::new([Rule::new("/", "visits")]), visits)
    ///     .sessions(SessionConfig::new(["a secret of at least thirty-two bytes!"]));
    /// let client = zeug::test::Client::new(app);
    /// assert_eq!(client.get("/").send().text(), "1");
    /// let res = client.get("/").send();
    /// assert_eq!(res.text(), "2");
    /// assert_eq!(res.header("vary"), Some("Cookie"));
    /// ```
    #[cfg(feature = "sessions")]
    pub fn session(&mut self) -> &mut Session {
        self.session
            .as_mut()
            .expect("Ctx::session: this App has no sessions; build it with App::sessions(config)")
    }
}

/// A small application: a URL map, one dispatch function, error handlers by status,
/// optional sessions and static files. See the [module docs](self).
pub struct App<E> {
    map: Map<E>,
    view: Box<View<E>>,
    handlers: HashMap<StatusCode, Box<ErrorHandler<E>>>,
    #[cfg(feature = "sessions")]
    sessions: Option<SessionConfig>,
    statics: Option<SharedData<()>>,
    propagate_panics: bool,
}

impl<E> fmt::Debug for App<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut handled: Vec<u16> = self.handlers.keys().map(StatusCode::as_u16).collect();
        handled.sort_unstable();
        f.debug_struct("App")
            .field("error_handlers", &handled)
            .finish_non_exhaustive()
    }
}

impl<E: Endpoint> App<E> {
    /// An app that matches requests against `map` and calls `view` with the context and the
    /// matched endpoint. `view` is usually a function with a `match` over the endpoint enum.
    pub fn new(
        map: Map<E>,
        view: impl Fn(&mut Ctx<'_, E>, E) -> Result<Response, HttpException> + Send + Sync + 'static,
    ) -> Self {
        App {
            map,
            view: Box::new(view),
            handlers: HashMap::new(),
            #[cfg(feature = "sessions")]
            sessions: None,
            statics: None,
            propagate_panics: false,
        }
    }

    /// Lets a panicking view unwind to the server instead of answering it with the 500
    /// handler (default off). Turn it on with the development server's debugger
    /// (`Options::use_debugger`), which shows the panic and its backtrace, as Flask
    /// propagates exceptions in debug mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::web::App;
    /// use zeug::{Map, Response, Rule};
    ///
    /// let debugging = std::env::var("APP_DEBUG").is_ok();
    /// let app = App::new(Map::new([Rule::new("/", "index")]), |_, _| Ok(Response::new("hi")))
    ///     .propagate_panics(debugging);
    /// # let _ = app;
    /// ```
    pub fn propagate_panics(mut self, propagate: bool) -> Self {
        self.propagate_panics = propagate;
        self
    }

    /// Renders errors with `status` (from routing, a view's `Err`, static files, or a
    /// panicking view for 500) with `handler` instead of zeug's default page. Render the
    /// page with [`HttpException::into_response_with`] to keep the status and headers
    /// (`Allow` on a 405, `Location` on a redirect, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::web::App;
    /// use zeug::{Map, Response, Rule};
    ///
    /// let map = Map::new([Rule::new("/", "index").methods(["GET"])]);
    /// let app = App::new(map, |_, _| Ok(Response::new("hi")))
    ///     .error_handler(405, |ctx, e| {
    ///         let page = format!("<p>{} is not allowed on {}</p>", ctx.request.method(), ctx.request.path());
    ///         e.into_response_with(Response::html(page))
    ///     });
    /// let res = zeug::test::Client::new(app).post("/").send();
    /// assert_eq!(res.status(), 405);
    /// assert_eq!(res.header("allow"), Some("GET, HEAD"));
    /// assert_eq!(res.text(), "<p>POST is not allowed on /</p>");
    /// ```
    pub fn error_handler(
        mut self,
        status: impl IntoStatus,
        handler: impl Fn(&mut Ctx<'_, E>, HttpException) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.handlers
            .insert(status.into_status(), Box::new(handler));
        self
    }

    /// Gives every request a session (see [`Ctx::session`]), saved after the view.
    #[cfg(feature = "sessions")]
    pub fn sessions(mut self, config: SessionConfig) -> Self {
        self.sessions = Some(config);
        self
    }

    /// Serves the files under `dir` (or the single file `dir`) at the URL `prefix`, as
    /// [`SharedData::mount`]; names that are not there go to the URL map (usually a 404
    /// through your handler), and refusals (`/static/../secret`) get your error pages too.
    ///
    /// # Panics
    ///
    /// When `prefix` does not start with `/` (a set-up mistake).
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::web::App;
    /// use zeug::{Map, Response, Rule};
    ///
    /// let app = App::new(Map::new([Rule::new("/", "index")]), |_, _| Ok(Response::new("hi")))
    ///     .static_files("/static", "src")
    ///     .error_handler(404, |_, e| e.into_response_with(Response::new("custom 404")));
    /// let client = zeug::test::Client::new(app);
    /// assert_eq!(client.get("/static/lib.rs").send().status(), 200);
    /// assert_eq!(client.get("/static/nope.css").send().text(), "custom 404");
    /// assert_eq!(client.get("/static/../Cargo.toml").send().text(), "custom 404");
    /// ```
    pub fn static_files(mut self, prefix: &str, dir: impl AsRef<Path>) -> Self {
        let statics = self.statics.take().unwrap_or_else(|| SharedData::new(()));
        self.statics = Some(statics.mount(prefix, dir));
        self
    }

    /// Renders `e` with the handler registered for its status, or zeug's default page
    /// (HTML, or JSON for clients that prefer it).
    fn render_error(&self, ctx: &mut Ctx<'_, E>, e: HttpException) -> Response {
        match self.handlers.get(&e.status()) {
            Some(handler) => match catch_unwind(AssertUnwindSafe(|| handler(ctx, e.clone()))) {
                Ok(response) => response,
                Err(_) => {
                    log::error!(target: "zeug", "the error handler for {} panicked", e.status());
                    e.into_response_for(ctx.request.headers())
                }
            },
            None => e.into_response_for(ctx.request.headers()),
        }
    }

    /// Runs the view, turning a panic into a logged 500 so the error handlers see it.
    fn run_view(&self, ctx: &mut Ctx<'_, E>, endpoint: E) -> Result<Response, HttpException> {
        if self.propagate_panics {
            return (self.view)(ctx, endpoint);
        }
        match catch_unwind(AssertUnwindSafe(|| (self.view)(ctx, endpoint.clone()))) {
            Ok(result) => result,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(no message)");
                log::error!(
                    target: "zeug",
                    "view {endpoint:?} panicked on {} {}: {message}",
                    ctx.request.method(),
                    ctx.request.path()
                );
                // What the view changed before panicking is not saved.
                #[cfg(feature = "sessions")]
                if let Some(config) = &self.sessions {
                    if let Some(changed) = ctx.session.replace(config.session(ctx.request)) {
                        changed.discard();
                    }
                }
                Err(HttpException::internal_server_error())
            }
        }
    }

    fn handle(&self, request: &Request, refused: Option<HttpException>) -> Response {
        let mut ctx = Ctx {
            request,
            urls: self.map.bind_to_environ(request.environ()),
            values: Values::new(),
            #[cfg(feature = "sessions")]
            session: self.sessions.as_ref().map(|c| c.session(request)),
        };
        let result = match refused {
            Some(e) => Err(e),
            None => match ctx.urls.match_request() {
                Ok((endpoint, values)) => {
                    ctx.values = values;
                    self.run_view(&mut ctx, endpoint)
                }
                Err(e) => Err(e.into()),
            },
        };
        let response = match result {
            Ok(response) => response,
            Err(e) => self.render_error(&mut ctx, e),
        };
        save_session(&ctx, response)
    }
}

/// Adds the session's `Vary` and `Set-Cookie` to the response (sessions feature).
#[cfg(feature = "sessions")]
fn save_session<E>(ctx: &Ctx<'_, E>, mut response: Response) -> Response {
    if let Some(session) = &ctx.session {
        session.save(&mut response);
    }
    response
}

#[cfg(not(feature = "sessions"))]
fn save_session<E>(_: &Ctx<'_, E>, response: Response) -> Response {
    response
}

impl<E: Endpoint> Application for App<E> {
    fn call(&self, environ: Environ) -> Response {
        let (request, refused) = match &self.statics {
            None => (Request::new(environ), None),
            Some(statics) => match statics.serve(environ) {
                Served::File(response) => return response,
                Served::Pass(environ) => (Request::new(environ), None),
                Served::Refused(request, e) => (*request, Some(e)),
            },
        };
        self.handle(&request, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;
    use crate::test::Client;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum V {
        Ok,
        Fail,
        Panic,
    }

    fn app() -> App<V> {
        let map = Map::new([
            Rule::new("/", V::Ok).methods(["GET"]),
            Rule::new("/fail", V::Fail),
            Rule::new("/panic", V::Panic),
        ]);
        App::new(map, |_ctx, view| match view {
            V::Ok => Ok(Response::new("ok")),
            V::Fail => Err(HttpException::too_many_requests().with_header("retry-after", 5u64)),
            V::Panic => panic!("boom"),
        })
    }

    #[test]
    fn without_handlers_errors_get_the_default_pages() {
        let client = Client::new(app());
        let res = client.get("/fail").send();
        assert_eq!(
            (res.status().as_u16(), res.header("retry-after")),
            (429, Some("5"))
        );
        assert!(res.text().contains("Too Many Requests"));
        let json = client
            .get("/nope")
            .header("accept", "application/json")
            .send();
        assert_eq!(json.json::<serde_json::Value>()["code"], 404);
        assert_eq!(client.post("/").send().header("allow"), Some("GET, HEAD"));
    }

    #[test]
    fn a_panicking_view_goes_through_the_500_handler() {
        let app = app().error_handler(500, |ctx, e| {
            e.into_response_with(Response::new(format!("sorry about {}", ctx.request.path())))
        });
        let client = Client::new(app);
        let res = client.get("/panic").send();
        assert_eq!(
            (res.status().as_u16(), res.text()),
            (500, "sorry about /panic".into())
        );
        assert_eq!(client.get("/").send().text(), "ok");
    }

    #[test]
    fn panics_can_propagate_to_the_server() {
        let client = Client::new(app().propagate_panics(true));
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| client.get("/panic").send()));
        assert!(result.is_err());
    }

    #[test]
    fn a_panicking_handler_falls_back_to_the_default_page() {
        let app = app().error_handler(429, |_, _| panic!("handler bug"));
        let res = Client::new(app).get("/fail").send();
        assert_eq!(res.status(), 429);
        assert!(res.text().contains("Too Many Requests"));
    }

    #[cfg(feature = "sessions")]
    #[test]
    fn sessions_are_saved_after_views_and_error_pages_but_not_after_panics() {
        let map = Map::new([Rule::new("/<action>", ())]);
        let app = App::new(map, |ctx, ()| {
            let action = ctx.values.get::<&str>("action").unwrap_or("").to_owned();
            ctx.session().insert("last", &action);
            match action.as_str() {
                "panic" => panic!("after writing the session"),
                "fail" => Err(HttpException::forbidden()),
                _ => Ok(Response::new(action)),
            }
        })
        .sessions(SessionConfig::new(["0123456789abcdef0123456789abcdef"]))
        .error_handler(404, |ctx, e| {
            let last = ctx.session().get::<String>("last").unwrap_or_default();
            e.into_response_with(Response::new(format!("last was {last}")))
        });
        let client = Client::new(app);
        assert!(client.get("/one").send().header("set-cookie").is_some());
        let forbidden = client.get("/fail").send();
        assert_eq!(forbidden.status(), 403);
        assert!(forbidden.header("set-cookie").is_some());
        let crashed = client.get("/panic").send();
        assert_eq!(crashed.status(), 500);
        assert!(crashed.header("set-cookie").is_none());
        // The 404 page reads the session: it depends on the cookie.
        let missing = client.get("/a/b").send();
        assert_eq!(missing.text(), "last was fail");
        assert_eq!(missing.header("vary"), Some("Cookie"));
    }
}
