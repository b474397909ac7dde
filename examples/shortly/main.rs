//! Shortly, a URL shortener: the app of Werkzeug's tutorial, built with zeug.
//!
//! ```text
//! cargo run --example shortly          # then open http://127.0.0.1:5000/
//! HOST=0.0.0.0 PORT=8000 cargo run --example shortly
//! REDIS_URL=redis://127.0.0.1:6379/ cargo run --example shortly
//! ```
//!
//! `docs/tutorial.md` builds this file step by step; `docs/how-it-works.md` follows one
//! request from the browser through it and back.

use std::path::Path;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment, path_loader};
use serde::Serialize;
use zeug::app::SharedApp;
use zeug::middleware::SharedData;
use zeug::routing::{Map, Rule};
use zeug::serving::{Options, run_simple_with};
use zeug::{Application, Environ, HttpException, Request, Response};

pub mod storage;
pub mod views;

use storage::{Store, store_from_env};

/// The example's folder, where `templates/` and `static/` live, wherever it is run from.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/shortly");

/// What a URL can lead to: one variant per view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    NewUrl,
    FollowShortLink,
    ShortLinkDetails,
}

/// Which URL leads to which view.
fn url_map() -> Map<Endpoint> {
    Map::new(vec![
        Rule::new("/", Endpoint::NewUrl).methods(["GET", "POST"]),
        Rule::new("/<short_id>", Endpoint::FollowShortLink),
        Rule::new("/<short_id>+", Endpoint::ShortLinkDetails),
    ])
}

/// The application: its database, its templates and its URL map.
pub struct Shortly {
    store: Box<dyn Store>,
    jinja_env: Environment<'static>,
    url_map: Map<Endpoint>,
}

impl Shortly {
    pub fn new(store: Box<dyn Store>) -> Self {
        let mut jinja_env = Environment::new();
        jinja_env.set_loader(path_loader(Path::new(ROOT).join("templates")));
        jinja_env.set_auto_escape_callback(|_name| AutoEscape::Html);
        jinja_env.add_filter("hostname", |url: &str| views::get_hostname(url));
        Shortly {
            store,
            jinja_env,
            url_map: url_map(),
        }
    }

    pub fn render_template(
        &self,
        template_name: &str,
        context: impl Serialize,
    ) -> Result<Response, HttpException> {
        let template = self
            .jinja_env
            .get_template(template_name)
            .map_err(template_error)?;
        let html = template.render(context).map_err(template_error)?;
        Ok(Response::html(html))
    }

    fn dispatch_request(&self, request: &Request) -> Result<Response, HttpException> {
        let adapter = self.url_map.bind_to_environ(request.environ());
        let (endpoint, values) = adapter.match_(request.path(), request.method())?;
        let short_id = values.get::<&str>("short_id").unwrap_or_default();
        match endpoint {
            Endpoint::NewUrl => views::on_new_url(self, request),
            Endpoint::FollowShortLink => views::on_follow_short_link(self, request, short_id),
            Endpoint::ShortLinkDetails => views::on_short_link_details(self, request, short_id),
        }
    }

    fn error_404(&self) -> Response {
        match self.render_template("404.html", ()) {
            Ok(response) => response.with_status(404),
            Err(e) => e.into_response(),
        }
    }
}

impl Application for Shortly {
    fn call(&self, environ: Environ) -> Response {
        let request = Request::new(environ);
        match self.dispatch_request(&request) {
            Ok(response) => response,
            Err(e) if e.status() == 404 => self.error_404(),
            Err(e) => e.into_response(),
        }
    }
}

/// A template that fails to load or render is a bug in the app: log it, answer 500.
fn template_error(e: minijinja::Error) -> HttpException {
    eprintln!("shortly: template error: {e:#}");
    HttpException::internal_server_error()
}

/// Shortly with its stylesheet served from `static/` under `/static`.
pub fn create_app(store: Box<dyn Store>, with_static: bool) -> SharedApp {
    let app = Shortly::new(store);
    if with_static {
        Arc::new(SharedData::new(app).mount("/static", Path::new(ROOT).join("static")))
    } else {
        Arc::new(app)
    }
}

fn main() -> std::io::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("PORT must be a port number, not {port:?}"),
            )
        })?,
        Err(_) => 5000,
    };
    let store = store_from_env().map_err(std::io::Error::other)?;
    let app = create_app(store, true);
    let options = Options::new()
        .use_debugger(true)
        .use_reloader(true)
        .extra_files([Path::new(ROOT).join("templates")]);
    run_simple_with(&host, port, app, options)
}
