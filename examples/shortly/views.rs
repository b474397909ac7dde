//! Shortly's views: one plain function per endpoint, taking the app, the request and the
//! values the URL map matched, and returning a response or an HTTP error.
//!
//! The views do not know how they were reached (that is `dispatch_request` in `main.rs`)
//! nor how links are stored (that is `storage.rs`).

use minijinja::context;
use zeug::routing::Method;
use zeug::{HttpException, Request, Response, redirect};

use super::Shortly;
use super::storage::StoreError;

/// `/`: the form, and on POST a new short link (then off to its details page).
pub fn on_new_url(app: &Shortly, request: &Request) -> Result<Response, HttpException> {
    let mut error = None;
    let mut url = String::new();
    if request.method() == Method::POST {
        url = request.form()?.get("url").unwrap_or("").trim().to_owned();
        if !is_valid_url(&url) {
            error = Some("Please enter a valid URL");
        } else {
            let short_id = app.store.insert_url(&url)?;
            return Ok(redirect(&format!("/{short_id}+"), 303));
        }
    }
    app.render_template("new_url.html", context! { error, url })
}

/// `/<short_id>`: counts the click and sends the browser on to the target.
pub fn on_follow_short_link(
    app: &Shortly,
    _request: &Request,
    short_id: &str,
) -> Result<Response, HttpException> {
    let link_target = app
        .store
        .get_target(short_id)?
        .ok_or_else(HttpException::not_found)?;
    app.store.incr_clicks(short_id)?;
    Ok(redirect(&link_target, 302))
}

/// `/<short_id>+`: where a short link goes and how often it was followed.
pub fn on_short_link_details(
    app: &Shortly,
    _request: &Request,
    short_id: &str,
) -> Result<Response, HttpException> {
    let link_target = app
        .store
        .get_target(short_id)?
        .ok_or_else(HttpException::not_found)?;
    let click_count = app.store.click_count(short_id)?;
    app.render_template(
        "short_link_details.html",
        context! { link_target, short_id, click_count },
    )
}

/// Only absolute `http` and `https` URLs with a host can be shortened; whitespace and
/// control characters are refused, as a browser's address bar would.
pub fn is_valid_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    let web_scheme = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    let clean = !url.chars().any(|c| c.is_whitespace() || c.is_control());
    web_scheme && clean && rest.starts_with("//") && !get_hostname(url).is_empty()
}

/// The host (and port) of `url`, without any `user:password@`: the template filter
/// `hostname`.
pub fn get_hostname(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    host.to_owned()
}

/// A broken database is the server's fault, not the client's: log it, answer 500.
impl From<StoreError> for HttpException {
    fn from(e: StoreError) -> Self {
        eprintln!("shortly: {e}");
        HttpException::internal_server_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_web_urls_with_a_host() {
        for ok in [
            "http://example.com",
            "https://example.com/a?b=c#d",
            "HTTPS://EXAMPLE.COM",
            "http://[::1]:8080/",
            "https://user:pw@example.com/",
            "https://例え.jp/パス",
        ] {
            assert!(is_valid_url(ok), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "ftp://example.com",
            "javascript:alert(1)",
            "http:example.com",
            "http://",
            "http:///path",
            "https://exa mple.com",
            "https://example.com/\r\nSet-Cookie: x=1",
            "data:text/html,<script>",
        ] {
            assert!(!is_valid_url(bad), "{bad:?}");
        }
    }

    #[test]
    fn hostname_is_the_authority_without_credentials() {
        assert_eq!(get_hostname("https://example.com/x"), "example.com");
        assert_eq!(
            get_hostname("http://example.com:8080?q"),
            "example.com:8080"
        );
        assert_eq!(get_hostname("https://u:p@example.com#f"), "example.com");
        assert_eq!(get_hostname("http://[::1]:5000/"), "[::1]:5000");
        assert_eq!(get_hostname("not a url"), "");
    }
}
