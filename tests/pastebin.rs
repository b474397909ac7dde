//! The pastebin example (`examples/pastebin/`) driven through the test client: the HTML
//! form with its session, uploads, the JSON API, static files, error pages and a panic.
#![cfg(feature = "sessions")]

#[path = "../examples/pastebin/main.rs"]
#[allow(dead_code)]
mod pastebin;

use serde_json::{Value, json};
use zeug::test::Client;

fn client() -> Client {
    Client::new(pastebin::create_app("a test secret, thirty-two bytes long"))
}

#[test]
fn the_form_creates_a_paste_and_the_session_remembers_the_name() {
    let client = client();
    let form = [("name", "ann"), ("title", "<b>hi</b>"), ("body", "x < y")];
    let res = client.post("/").form(&form).send();
    assert_eq!((res.status().as_u16(), res.location()), (303, Some("/p/1")));
    let page = client.get("/p/1").send();
    let html = page.text();
    assert!(html.contains("<h1>&lt;b&gt;hi&lt;/b&gt;</h1><pre>x &lt; y</pre>"));
    assert!(html.contains("<a href=\"/p/1/raw\">raw</a> · by <a href=\"/user/ann/\">ann</a>"));
    assert_eq!(page.header("vary"), Some("Cookie"));
    assert!(client.get("/").send().text().contains("value=\"ann\""));
    assert!(client.get("/user/ann/").send().text().contains("/p/1"));
    assert_eq!(client.get("/p/1/raw").send().mimetype(), "text/plain");
}

#[test]
fn an_uploaded_file_becomes_the_body() {
    let client = client();
    let form = client.post("/").form(&[("title", "notes"), ("body", "")]);
    let res = form
        .file("file", "a.txt", "from a file", "text/plain")
        .send();
    assert_eq!(res.status(), 303);
    assert_eq!(client.get("/p/1/raw").send().text(), "from a file");
    let untitled = client.post("/").form(&[("title", "empty")]).send();
    assert_eq!(untitled.status(), 400);
}

#[test]
fn the_api_takes_json_and_answers_201_with_a_location() {
    let client = client();
    let paste = json!({"title": "api", "body": "{}", "author": "bot"});
    let res = client.post("/api/pastes").json(&paste).send();
    assert_eq!((res.status().as_u16(), res.location()), (201, Some("/p/1")));
    let list: Value = client.get("/api/pastes").send().json();
    assert_eq!(list, json!([[1, "api"]]));
    assert_eq!(client.post("/api/pastes").body("x").send().status(), 415);
}

#[test]
fn static_files_and_custom_error_pages() {
    let client = client();
    let css = client.get("/static/style.css").send();
    assert_eq!(css.mimetype(), "text/css");
    for missing in ["/p/9", "/nope", "/static/no.css", "/static/../Cargo.toml"] {
        let res = client.get(missing).send();
        assert_eq!(res.status(), 404, "{missing}");
        assert!(
            res.text().contains("<a href=\"/\">pastebin</a>"),
            "{missing}"
        );
    }
    let res = client.delete("/p/1").send();
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    assert!(res.text().contains("<h1>Method Not Allowed</h1>"));
}

#[test]
fn a_panicking_view_is_a_500_and_the_app_keeps_serving() {
    let client = client();
    assert_eq!(client.get("/crash").send().status(), 500);
    assert_eq!(client.get("/").send().status(), 200);
}
