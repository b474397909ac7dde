//! Pastebin: a small app built with `zeug::web::App` — an HTML form, JSON API, a signed
//! session remembering your name, static files and custom error pages.
//!
//! ```text
//! cargo run --example pastebin          # then open http://127.0.0.1:5000/
//! curl -i -H 'content-type: application/json' -d '{"title":"hi","body":"hello"}' \
//!     http://127.0.0.1:5000/api/pastes
//! ```
//!
//! `docs/from-flask.md` walks through this file.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use zeug::http::HeaderValue;
use zeug::sessions::SessionConfig;
use zeug::utils::{escape_html as esc, redirect};
use zeug::web::{App, Ctx};
use zeug::{HttpException, Map, Response, Rule};

/// The folder served under `/static`, wherever the example is run from.
const STATIC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/pastebin/static");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Index,
    Create,
    Show,
    Raw,
    User,
    ApiList,
    ApiCreate,
    Crash,
    Static,
}

pub fn url_map() -> Map<View> {
    Map::new([
        Rule::new("/", View::Index).methods(["GET"]),
        Rule::new("/", View::Create).methods(["POST"]),
        Rule::new("/p/<int:id>", View::Show).methods(["GET"]),
        Rule::new("/p/<int:id>/raw", View::Raw).methods(["GET"]),
        Rule::new("/user/<name>/", View::User).methods(["GET"]),
        Rule::new("/api/pastes", View::ApiList).methods(["GET"]),
        Rule::new("/api/pastes", View::ApiCreate).methods(["POST"]),
        Rule::new("/crash", View::Crash),
        // Served by `App::static_files` before routing; the rule is there for `url_for`.
        Rule::new("/static/<path:filename>", View::Static),
    ])
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Paste {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub author: String,
}

/// The pastes, in memory; a paste's id is its position plus one.
#[derive(Default)]
pub struct Store(Mutex<Vec<Paste>>);

impl Store {
    fn add(&self, paste: Paste) -> Result<i64> {
        let mut pastes = self.0.lock()?;
        pastes.push(paste);
        Ok(pastes.len() as i64)
    }

    fn get(&self, id: i64) -> Result<Paste> {
        let index = usize::try_from(id - 1).map_err(|_| HttpException::not_found())?;
        let pastes = self.0.lock()?;
        let paste = pastes.get(index).cloned();
        paste.ok_or_else(HttpException::not_found)
    }

    /// Every paste with its id, newest first, that `keep` accepts.
    fn list(&self, keep: impl Fn(&Paste) -> bool) -> Result<Vec<(i64, Paste)>> {
        let pastes = self.0.lock()?;
        let with_ids = (1..).zip(pastes.iter().cloned());
        let mut kept: Vec<_> = with_ids.filter(|(_, p)| keep(p)).collect();
        kept.reverse();
        Ok(kept)
    }
}

#[derive(Deserialize)]
struct Id {
    id: i64,
}

#[derive(Deserialize)]
struct Name {
    name: String,
}

type Result<T = Response> = std::result::Result<T, HttpException>;

fn dispatch(store: &Store, ctx: &mut Ctx<View>, view: View) -> Result {
    match view {
        View::Index => index(store, ctx),
        View::Create => create(store, ctx),
        View::Show => show(store, ctx),
        View::Raw => {
            let Id { id } = ctx.values.parse()?;
            let raw = Response::new(store.get(id)?.body);
            Ok(raw.with_header("x-content-type-options", "nosniff"))
        }
        View::User => user(store, ctx),
        View::ApiList => {
            let pastes = store.list(|_| true)?;
            let items: Vec<_> = pastes.iter().map(|(id, p)| (id, &p.title)).collect();
            Ok(Response::json(&items))
        }
        View::ApiCreate => {
            let paste: Paste = ctx.request.json()?;
            let id = store.add(paste.clone())?;
            let location = HeaderValue::try_from(ctx.url_for(View::Show, &[("id", id)])?)?;
            let created = Response::json(&paste).with_status(201);
            Ok(created.with_header("location", location))
        }
        View::Crash => panic!("this view always fails"),
        View::Static => Err(HttpException::not_found()),
    }
}

/// The page around every view's content, with the visitor's name when the session has one.
fn page(ctx: &mut Ctx<View>, title: &str, content: &str) -> Result {
    let home = ctx.url_for(View::Index, &())?;
    let css = ctx.url_for(View::Static, &[("filename", "style.css")])?;
    let who = match ctx.session().get::<String>("name") {
        Some(name) => {
            let link = ctx.url_for(View::User, &[("name", &name)])?;
            format!("<a href=\"{}\">{}</a>", esc(&link), esc(&name))
        }
        None => String::new(),
    };
    Ok(Response::html(format!(
        "<!doctype html><html lang=en><title>{t} · pastebin</title>\
         <link rel=stylesheet href=\"{css}\"><header><a href=\"{home}\">pastebin</a>{who}</header>\
         <h1>{t}</h1>{content}",
        t = esc(title),
        css = esc(&css),
        home = esc(&home),
    )))
}

fn paste_list(ctx: &Ctx<View>, pastes: &[(i64, Paste)]) -> Result<String> {
    let mut items = String::new();
    for (id, paste) in pastes {
        let url = ctx.url_for(View::Show, &[("id", *id)])?;
        items += &format!("<li><a href=\"{}\">{}</a>", esc(&url), esc(&paste.title));
    }
    Ok(format!("<ul>{items}</ul>"))
}

fn index(store: &Store, ctx: &mut Ctx<View>) -> Result {
    let name = esc(&ctx.session().get::<String>("name").unwrap_or_default());
    let action = esc(&ctx.url_for(View::Create, &())?);
    let form = format!(
        "<form method=post action=\"{action}\" enctype=multipart/form-data>\
         <input name=name placeholder=\"your name\" value=\"{name}\">\
         <input name=title placeholder=title required>\
         <textarea name=body placeholder=\"paste here, or choose a file\"></textarea>\
         <input type=file name=file><button>Paste</button></form>"
    );
    let recent = paste_list(ctx, &store.list(|_| true)?)?;
    page(ctx, "New paste", &(form + &recent))
}

fn create(store: &Store, ctx: &mut Ctx<View>) -> Result {
    let form = ctx.request.form()?;
    let field = |name| form.get(name).unwrap_or("").trim().to_owned();
    let (title, author, mut body) = (field("title"), field("name"), field("body"));
    let bad_request = |why| HttpException::bad_request().with_description(why);
    let files = ctx.request.files()?;
    if let Some(file) = files.get_value("file").filter(|f| f.size() > 0) {
        body = String::from_utf8(file.to_vec()?).map_err(|_| bad_request("Text files only."))?;
    }
    if title.is_empty() || body.is_empty() {
        return Err(bad_request("A paste needs a title and a body."));
    }
    if !author.is_empty() {
        ctx.session().insert("name", &author);
    }
    let id = store.add(Paste {
        title,
        body,
        author,
    })?;
    Ok(redirect(&ctx.url_for(View::Show, &[("id", id)])?, 303))
}

fn show(store: &Store, ctx: &mut Ctx<View>) -> Result {
    let Id { id } = ctx.values.parse()?;
    let paste = store.get(id)?;
    let body = esc(&paste.body);
    let raw = esc(&ctx.url_for(View::Raw, &[("id", id)])?);
    let mut content = format!("<pre>{body}</pre><a href=\"{raw}\">raw</a>");
    if !paste.author.is_empty() {
        let link = esc(&ctx.url_for(View::User, &[("name", &paste.author)])?);
        content += &format!(" · by <a href=\"{link}\">{}</a>", esc(&paste.author));
    }
    page(ctx, &paste.title, &content)
}

fn user(store: &Store, ctx: &mut Ctx<View>) -> Result {
    let Name { name } = ctx.values.parse()?;
    let pastes = store.list(|p| p.author == name)?;
    let list = paste_list(ctx, &pastes)?;
    page(ctx, &format!("Pastes by {name}"), &list)
}

fn error_page(ctx: &mut Ctx<View>, e: HttpException) -> Response {
    let content = format!("<p class=error>{}</p>", esc(e.description()));
    match page(ctx, e.name(), &content) {
        Ok(page) => e.into_response_with(page),
        Err(_) => e.into_response(),
    }
}

/// The whole application; `secret` signs the session cookie.
pub fn create_app(secret: &str) -> App<View> {
    let store = Arc::new(Store::default());
    App::new(url_map(), move |ctx, view| dispatch(&store, ctx, view))
        .sessions(SessionConfig::new([secret]))
        .static_files("/static", STATIC)
        .error_handler(404, error_page)
        .error_handler(405, error_page)
}

fn main() {
    let secret = std::env::var("SECRET_KEY")
        .unwrap_or_else(|_| "development key: set SECRET_KEY in production!".to_owned());
    println!("pastebin on http://127.0.0.1:5000/");
    zeug::run_simple("127.0.0.1", 5000, create_app(&secret)).unwrap();
}
