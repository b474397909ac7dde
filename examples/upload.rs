//! File uploads: a form page, an upload handler and a download route.
//!
//! - `GET /` shows a `multipart/form-data` form and the files uploaded so far;
//! - `POST /upload` saves every file of the form's `file` input under the name
//!   [`secure_filename`] makes of the client's (`../../etc/passwd` becomes `etc_passwd`),
//!   then redirects back to the page (303, POST/redirect/GET);
//! - `GET /files/<name>` sends a saved file with [`send_from_directory`]: its mimetype
//!   guessed, ETag, `Last-Modified`, 304s and ranges, and no way out of the folder.
//!
//! Uploads stream through the multipart parser: small files stay in memory, larger ones
//! are spooled to a temporary file, so a big upload costs disk, not memory. The app sets
//! its own [`Limits`]: 32 MiB per request.
//!
//! Run it with `cargo run --example upload` and open <http://127.0.0.1:5000/>. `HOST` and
//! `PORT` change the address, `UPLOAD_FOLDER` where files go (default `./uploads`).
//! `tests/upload_example.rs` drives it through the test client. `docs/forms.md` explains it.

use std::path::PathBuf;

use zeug::formparser::Limits;
use zeug::security::secure_filename;
use zeug::utils::escape_html;
use zeug::utils::send_from_directory;
use zeug::{Application, Environ, HttpException, Request, Response, redirect};

/// The largest request this app accepts.
pub const MAX_UPLOAD: u64 = 32 * 1024 * 1024;

/// The upload app: where files go and the limits requests get.
pub struct Uploads {
    folder: PathBuf,
    limits: Limits,
}

impl Uploads {
    /// An app saving into `folder` (created if missing).
    pub fn new(folder: impl Into<PathBuf>) -> std::io::Result<Self> {
        let folder = folder.into();
        std::fs::create_dir_all(&folder)?;
        Ok(Uploads {
            folder,
            limits: Limits {
                max_content_length: Some(MAX_UPLOAD),
                ..Limits::default()
            },
        })
    }

    /// Picks the view for the method and path.
    fn dispatch_request(&self, request: &Request) -> Result<Response, HttpException> {
        let method = request.method().as_str();
        match request.path() {
            "/" if method == "GET" || method == "HEAD" => self.on_index(),
            "/upload" if method == "POST" => self.on_upload(request),
            "/" => Err(HttpException::method_not_allowed(&[
                http::Method::GET,
                http::Method::HEAD,
            ])),
            "/upload" => Err(HttpException::method_not_allowed(&[http::Method::POST])),
            path => match path.strip_prefix("/files/") {
                Some(name) if method == "GET" || method == "HEAD" => {
                    send_from_directory(&self.folder, name, request)
                }
                Some(_) => Err(HttpException::method_not_allowed(&[
                    http::Method::GET,
                    http::Method::HEAD,
                ])),
                None => Err(HttpException::not_found()),
            },
        }
    }

    /// `GET /`: the form and the list of saved files.
    fn on_index(&self) -> Result<Response, HttpException> {
        let mut names: Vec<String> = std::fs::read_dir(&self.folder)
            .map_err(|e| server_error("could not list the upload folder", e))?
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        names.sort();
        let items: String = names
            .iter()
            .map(|name| {
                format!(
                    "<li><a href=\"/files/{}\">{}</a></li>\n",
                    zeug::urls::quote_segment(name),
                    escape_html(name)
                )
            })
            .collect();
        Ok(Response::html(format!(
            "<!doctype html>\n<html lang=en>\n<title>Upload</title>\n<h1>Upload files</h1>\n\
             <form method=post action=/upload enctype=multipart/form-data>\n\
             <input type=file name=file multiple>\n<input type=submit value=Upload>\n</form>\n\
             <h2>Uploaded</h2>\n<ul>\n{items}</ul>\n"
        )))
    }

    /// `POST /upload`: saves each file under a safe name, then back to the page.
    fn on_upload(&self, request: &Request) -> Result<Response, HttpException> {
        let mut saved = 0;
        for file in request.files()?.get_all("file") {
            // An empty file input still sends a part, with an empty file name.
            let name = secure_filename(file.filename().unwrap_or_default());
            if name.is_empty() {
                continue;
            }
            file.save(self.folder.join(&name))
                .map_err(|e| server_error("could not save an upload", e))?;
            log::info!(target: "upload", "saved {name} ({} bytes)", file.size());
            saved += 1;
        }
        if saved == 0 {
            return Err(HttpException::bad_request().with_description("No file was uploaded."));
        }
        Ok(redirect("/", 303))
    }
}

fn server_error(what: &str, e: std::io::Error) -> HttpException {
    log::error!(target: "upload", "{what}: {e}");
    HttpException::internal_server_error()
}

impl Application for Uploads {
    fn call(&self, environ: Environ) -> Response {
        let mut request = Request::new(environ);
        request.set_limits(self.limits);
        self.dispatch_request(&request)
            .unwrap_or_else(|e| e.into_response_for(request.headers()))
    }
}

#[allow(dead_code)] // `tests/upload_example.rs` includes this file without running `main`.
fn main() -> std::io::Result<()> {
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let port = match std::env::var("PORT") {
        Ok(p) => p.parse().expect("PORT must be a port number"),
        Err(_) => 5000,
    };
    let folder = std::env::var("UPLOAD_FOLDER").unwrap_or_else(|_| "uploads".to_owned());
    zeug::serving::run_simple(&host, port, Uploads::new(folder)?)
}
