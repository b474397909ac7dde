//! [`SharedData`]: serves static files under URL prefixes, in front of an application.
//!
//! This module owns matching URL prefixes to directories or files, refusing traversal and
//! disallowed names, and its cache settings. Building the file response (mimetype, ETag,
//! Last-Modified, 304, ranges) is [`crate::utils::send_file_with`]'s job.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use http::Method;
use http::header::CONTENT_DISPOSITION;

use crate::security::safe_join;
use crate::utils::{FileOptions, send_file_with};
use crate::{Application, Environ, HttpException, Request, Response};

/// How long browsers and caches may keep a static file by default: 12 hours, as
/// Werkzeug's `SharedData`.
pub const DEFAULT_CACHE_TIMEOUT: u64 = 12 * 60 * 60;

/// Serves files from directories (or single files) mounted under URL prefixes, and passes
/// every other request to the wrapped application — Werkzeug's `SharedData`.
///
/// GET and HEAD requests whose `path_info` falls under a mounted prefix are answered with
/// the file when it exists: mimetype guessed from the name, `ETag`, `Last-Modified`,
/// `Cache-Control: public, max-age=…` (see [`cache_timeout`](Self::cache_timeout)), `304
/// Not Modified`, byte ranges (`206`/`416`) — the body stays a file region so the server
/// can `sendfile` it. Anything that is not a regular file (missing, a directory) and any
/// name matching a [`disallow`](Self::disallow) pattern falls through to the application.
///
/// Refusals (a traversal attempt, a file that vanished) are answered by the
/// [`on_error`](Self::on_error) handler, so an application's own error pages cover them too;
/// by default they are zeug's HTML or JSON error pages. With [`web::App`](crate::web::App),
/// mount static files with [`App::static_files`](crate::web::App::static_files) and both
/// misses and refusals go through the app's error handlers.
///
/// The path below the prefix is resolved with [`safe_join`]: `..` that climbs out,
/// absolute and drive paths, backslashes, NUL bytes, Windows device names, and encoded
/// slashes (`%2f`, `%5c` in the raw request target) are answered `404 Not Found` without
/// touching the disk. A path that names a file as if it were a directory (`a.txt/`,
/// `a.txt/.`) is a `404` too, as the file system sees it.
///
/// Symbolic links are followed only while they stay inside the mounted directory: the
/// resolved file is canonicalised and must lie under the canonicalised directory, so a
/// link to `/etc/passwd` placed in it is answered `404`. The directory itself may be a
/// link (a `current -> release-42` deployment); it is resolved on every request. To serve
/// links that point elsewhere (a shared asset tree outside the directory), opt in with
/// [`follow_symlinks(true)`](Self::follow_symlinks). The check is about links that sit in
/// the tree, not about someone rewriting it while it is served: whoever can write to a
/// mounted directory decides what it serves.
///
/// # Examples
///
/// ```
/// use zeug::middleware::SharedData;
/// use zeug::{test::Client, Environ, Response};
///
/// let app = SharedData::new(|_: Environ| Response::new("the app"))
///     .mount("/static", "src")            // a directory
///     .mount("/robots.txt", "Cargo.toml") // a single file
///     .disallow("*.toml.bak");
/// let client = Client::new(app);
/// let res = client.get("/static/lib.rs").send();
/// assert_eq!(res.status(), 200);
/// assert!(res.header("etag").is_some());
/// assert_eq!(res.header("cache-control"), Some("public, max-age=43200"));
/// assert_eq!(client.get("/robots.txt").send().status(), 200);
/// assert_eq!(client.get("/static/missing.css").send().text(), "the app");
/// assert_eq!(client.get("/static/../Cargo.toml").send().status(), 404);
/// ```
pub struct SharedData<A> {
    app: A,
    /// Sorted longest prefix first.
    mounts: Vec<(String, Export)>,
    cache: bool,
    cache_timeout: u64,
    disallow: Vec<String>,
    follow_symlinks: bool,
    on_error: Option<ErrorHandler>,
}

type ErrorHandler = Arc<dyn Fn(&Request, HttpException) -> Response + Send + Sync>;

/// What [`SharedData`] did with a request, for the apps that embed one.
pub(crate) enum Served {
    /// Not under a mount, or not a file there: the application's to answer.
    Pass(Environ),
    /// The file.
    File(Response),
    /// Under a mount but refused.
    Refused(Box<Request>, HttpException),
}

#[derive(Debug, Clone)]
enum Export {
    Directory(PathBuf),
    File(PathBuf),
}

impl<A> SharedData<A> {
    /// Wraps `app`, with nothing mounted yet.
    pub fn new(app: A) -> Self {
        SharedData {
            app,
            mounts: Vec::new(),
            cache: true,
            cache_timeout: DEFAULT_CACHE_TIMEOUT,
            disallow: Vec::new(),
            follow_symlinks: false,
            on_error: None,
        }
    }

    /// Answers refused requests (`404` for a traversal attempt or an encoded separator,
    /// errors opening the file) with `handler`, typically the application's own error
    /// page. Requests for names that are not there are not refusals: they go to the
    /// application, as in Werkzeug.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::middleware::SharedData;
    /// use zeug::{test::Client, Environ, Response};
    ///
    /// let app = SharedData::new(|_: Environ| Response::new("the app").with_status(404))
    ///     .mount("/static", "src")
    ///     .on_error(|_req, e| e.into_response_with(Response::html("<h1>Our own 404</h1>")));
    /// let client = Client::new(app);
    /// let res = client.get("/static/../Cargo.toml").send();
    /// assert_eq!((res.status().as_u16(), res.text().as_str()), (404, "<h1>Our own 404</h1>"));
    /// ```
    pub fn on_error(
        mut self,
        handler: impl Fn(&Request, HttpException) -> Response + Send + Sync + 'static,
    ) -> Self {
        self.on_error = Some(Arc::new(handler));
        self
    }

    /// Serves `path` under the URL `prefix` (decoded, like `path_info`; a trailing `/` is
    /// ignored). If `path` is a file when this is called, exactly `prefix` serves it;
    /// otherwise `path` is a directory and `prefix/name` serves `path/name`.
    ///
    /// # Panics
    ///
    /// When `prefix` does not start with `/` (a set-up mistake).
    pub fn mount(mut self, prefix: &str, path: impl AsRef<Path>) -> Self {
        assert!(
            prefix.starts_with('/'),
            "SharedData::mount: prefix {prefix:?} must start with '/'"
        );
        let prefix = prefix.trim_end_matches('/').to_owned();
        let path = path.as_ref().to_path_buf();
        let export = if path.is_file() {
            Export::File(path)
        } else {
            Export::Directory(path)
        };
        self.mounts.retain(|(p, _)| *p != prefix);
        self.mounts.push((prefix, export));
        self.mounts.sort_by_key(|m| std::cmp::Reverse(m.0.len()));
        self
    }

    /// How long (seconds) caches may keep a file without asking again (default
    /// [`DEFAULT_CACHE_TIMEOUT`]).
    pub fn cache_timeout(mut self, seconds: u64) -> Self {
        self.cache_timeout = seconds;
        self
    }

    /// Whether to let caches keep files at all (default on). Off sends
    /// `Cache-Control: no-cache` and no `ETag`.
    pub fn cache(mut self, yes: bool) -> Self {
        self.cache = yes;
        self
    }

    /// Never serves names matching `pattern`; such requests fall through to the
    /// application. The pattern is matched against the path below the prefix
    /// (`secret/key.pem`) and against the file name alone (`key.pem`); `*` matches any run
    /// of characters (`/` included), `?` one character, `[abc]`/`[a-z]`/`[!abc]` one of a
    /// set, as Python's `fnmatch`.
    pub fn disallow(mut self, pattern: &str) -> Self {
        self.disallow.push(pattern.to_owned());
        self
    }

    /// Whether symbolic links in a mounted directory are followed wherever they point
    /// (default off: only links that resolve inside the directory are served, others get
    /// `404`). On is Werkzeug's and nginx's default behaviour; turn it on only when the
    /// directory holds links you made on purpose to files elsewhere.
    ///
    /// # Examples
    ///
    /// ```
    /// use zeug::middleware::SharedData;
    /// use zeug::{Environ, Response};
    ///
    /// // /srv/static/vendor -> /usr/share/javascript is meant to be served.
    /// let app = SharedData::new(|_: Environ| Response::new("the app"))
    ///     .mount("/static", "/srv/static")
    ///     .follow_symlinks(true);
    /// # let _ = app;
    /// ```
    pub fn follow_symlinks(mut self, yes: bool) -> Self {
        self.follow_symlinks = yes;
        self
    }

    fn is_disallowed(&self, relative: &str) -> bool {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        self.disallow
            .iter()
            .any(|p| glob_match(p, relative) || glob_match(p, name))
    }

    /// What the request asks for: `None` when it is not ours, `Some(Err)` when it is ours
    /// but refused, `Some(Ok((path, name)))` for a file to serve and the name its
    /// mimetype is guessed from.
    fn resolve(&self, environ: &Environ) -> Option<Result<(PathBuf, String), HttpException>> {
        let path = environ.path_info.as_str();
        for (prefix, export) in &self.mounts {
            let Some(rest) = path.strip_prefix(prefix.as_str()) else {
                continue;
            };
            match export {
                Export::File(file) if rest.is_empty() || rest == "/" => {
                    let name = file
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if self.is_disallowed(&name) || !file.is_file() {
                        return None;
                    }
                    // `/favicon.ico/` names a directory, and this is a file.
                    if !rest.is_empty() {
                        return Some(Err(HttpException::not_found()));
                    }
                    return Some(Ok((file.clone(), name)));
                }
                Export::File(_) => continue,
                Export::Directory(dir) => {
                    let Some(relative) = rest.strip_prefix('/') else {
                        continue;
                    };
                    if has_encoded_separator(&environ.request_uri) {
                        return Some(Err(HttpException::not_found()));
                    }
                    let Some(full) = safe_join(dir, relative) else {
                        return Some(Err(HttpException::not_found()));
                    };
                    if relative.is_empty() || self.is_disallowed(relative) {
                        return None;
                    }
                    if !full.is_file() {
                        return None;
                    }
                    // `a.txt/`, `a.txt/.`, `a.txt/x/..` name a directory; the file system
                    // answers ENOTDIR for them, and so do we.
                    let last = relative.rsplit('/').next().unwrap_or("");
                    if matches!(last, "" | "." | "..") {
                        return Some(Err(HttpException::not_found()));
                    }
                    let name = last.to_owned();
                    if self.follow_symlinks {
                        return Some(Ok((full, name)));
                    }
                    return match contained(dir, &full) {
                        // A link to a disallowed name is refused as the name itself is.
                        Ok(Some((_, inside))) if self.is_disallowed(&inside) => None,
                        Ok(Some((real, _))) => Some(Ok((real, name))),
                        Ok(None) => {
                            log::warn!(
                                target: "zeug::middleware",
                                "SharedData: {} resolves outside {}; not served \
                                 (see SharedData::follow_symlinks)",
                                full.display(),
                                dir.display()
                            );
                            Some(Err(HttpException::not_found()))
                        }
                        // Gone or unreadable between the checks: as if it were missing.
                        Err(_) => Some(Err(HttpException::not_found())),
                    };
                }
            }
        }
        None
    }
}

/// `path` (below `root`, as [`safe_join`] built it) with every symbolic link resolved,
/// and that path below `root` (`/`-separated), if it lies inside `root` (also resolved);
/// `Ok(None)` if a link leads out of it.
///
/// Links in `root` itself are the operator's and trusted. When no component below `root`
/// is a link, which is the common case, `path` is inside by construction (`safe_join`
/// leaves no `..`): one `lstat` per component answers that, much cheaper than
/// canonicalising both paths.
fn contained(root: &Path, path: &Path) -> std::io::Result<Option<(PathBuf, String)>> {
    let slashed = |p: &Path| {
        p.components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    };
    if let Ok(below) = path.strip_prefix(root) {
        let mut current = root.to_path_buf();
        let mut linked = false;
        for component in below.components() {
            current.push(component);
            if std::fs::symlink_metadata(&current)?
                .file_type()
                .is_symlink()
            {
                linked = true;
                break;
            }
        }
        if !linked {
            return Ok(Some((path.to_path_buf(), slashed(below))));
        }
    }
    let root = std::fs::canonicalize(root)?;
    let real = std::fs::canonicalize(path)?;
    let Ok(inside) = real.strip_prefix(&root) else {
        return Ok(None);
    };
    let inside = slashed(inside);
    Ok(Some((real, inside)))
}

/// Whether the raw request target's path holds an encoded `/`, `\` or NUL: after
/// decoding these would look like separators (or end a C string) that the client did not
/// send as such.
fn has_encoded_separator(request_uri: &str) -> bool {
    let path = request_uri.split('?').next().unwrap_or("");
    let lower = path.to_ascii_lowercase();
    lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00")
}

impl<A> SharedData<A> {
    /// Serves the request if it is for a mounted file; the wrapped app is not called.
    pub(crate) fn serve(&self, environ: Environ) -> Served {
        if environ.method != Method::GET && environ.method != Method::HEAD {
            return Served::Pass(environ);
        }
        let (path, name) = match self.resolve(&environ) {
            None => return Served::Pass(environ),
            Some(Err(e)) => return Served::Refused(Box::new(Request::new(environ)), e),
            Some(Ok(found)) => found,
        };
        let request = Request::new(environ);
        // The mimetype comes from the name asked for, not from a link's target.
        let options = FileOptions::new().download_name(&name);
        let options = if self.cache {
            options.max_age(self.cache_timeout)
        } else {
            options.etag(false)
        };
        match send_file_with(&path, &request, &options) {
            Ok(mut response) => {
                response.headers_mut().remove(CONTENT_DISPOSITION);
                Served::File(response)
            }
            Err(e) => Served::Refused(Box::new(request), e),
        }
    }
}

impl<A: Application> Application for SharedData<A> {
    fn call(&self, environ: Environ) -> Response {
        match self.serve(environ) {
            Served::Pass(environ) => self.app.call(environ),
            Served::File(response) => response,
            Served::Refused(request, e) => match &self.on_error {
                Some(handler) => handler(&request, e),
                None => e.into_response_for(request.headers()),
            },
        }
    }
}

/// `fnmatch`-style matching: `*`, `?`, `[set]`, `[!set]`, ranges in sets.
///
/// # Examples
///
/// ```
/// use zeug::middleware::glob_match;
///
/// assert!(glob_match("*.py", "app/views.py"));
/// assert!(glob_match("secret/*", "secret/key.pem"));
/// assert!(glob_match("file?.[ch]", "file1.c"));
/// assert!(!glob_match("*.py", "views.pyc"));
/// ```
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = match_set(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the set starting at `p[start] == '['`; returns whether it matched
/// and the index after the set, or `None` for an unclosed `[` (a literal then).
fn match_set(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() && (p[i] != ']' || first) {
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    if i >= p.len() {
        return None;
    }
    Some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_fnmatch() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*.tar.gz", "a/b.tar.gz"));
        assert!(glob_match("[!.]*", "visible"));
        assert!(!glob_match("[!.]*", ".hidden"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("[a-c]x", "dx"));
        assert!(glob_match("[]]", "]"));
        assert!(glob_match("a[", "a["));
        assert!(glob_match("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!glob_match("*a*b*c", "xxaxxbxxcxx"));
    }

    #[cfg(unix)]
    #[test]
    fn containment_resolves_links_only_when_there_are_some() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/f.txt"), "f").unwrap();
        std::fs::write(tmp.path().join("out.txt"), "out").unwrap();
        symlink("a", root.join("b")).unwrap();
        symlink("../../out.txt", root.join("a/up.txt")).unwrap();
        let check = |rel: &str| contained(&root, &safe_join(&root, rel).unwrap()).unwrap();

        // No link: the path as given.
        let (path, inside) = check("a/f.txt").unwrap();
        assert_eq!(path, root.join("a/f.txt"));
        assert_eq!(inside, "a/f.txt");
        // A link that stays inside: the resolved path, named as it lies in the tree.
        let (path, inside) = check("b/f.txt").unwrap();
        assert_eq!(path, std::fs::canonicalize(root.join("a/f.txt")).unwrap());
        assert_eq!(inside, "a/f.txt");
        // A link out.
        assert!(check("a/up.txt").is_none());
        assert!(check("b/up.txt").is_none());
        // A root that is itself a link, or relative, is trusted as it is.
        let alias = tmp.path().join("alias");
        symlink(&root, &alias).unwrap();
        let file = safe_join(&alias, "a/f.txt").unwrap();
        assert_eq!(contained(&alias, &file).unwrap().unwrap().1, "a/f.txt");
        assert!(
            contained(Path::new(""), &safe_join("", "Cargo.toml").unwrap())
                .unwrap()
                .is_some_and(|(_, inside)| inside == "Cargo.toml")
        );
    }

    #[test]
    fn spots_encoded_separators() {
        assert!(has_encoded_separator("/static/a%2F..%2Fb"));
        assert!(has_encoded_separator("/static/a%5cb"));
        assert!(!has_encoded_separator("/static/a%20b?x=%2f"));
    }
}
