//! `examples/hello.rs`, driven through the test client: both of its apps, no socket.

#[path = "../examples/hello.rs"]
#[allow(dead_code)]
mod hello;

use hello::{Hello, simple_app};
use zeug::test::Client;

#[test]
fn simple_app_says_hello_world_to_every_request() {
    let client = Client::new(simple_app);
    for path in ["/", "/anything", "/a/b?c=d"] {
        let res = client.get(path).send();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text(), "Hello World!");
        assert_eq!(res.mimetype(), "text/plain");
        assert_eq!(res.header("content-length"), Some("12"));
    }
    let res = client.post("/").form(&[("x", "1")]).send();
    assert_eq!(res.text(), "Hello World!");
}

#[test]
fn hello_greets_the_world_by_default() {
    let client = Client::new(Hello::new());
    let res = client.get("/").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "Hello World!");
}

#[test]
fn hello_greets_the_name_from_the_query_string() {
    let client = Client::new(Hello::new());
    assert_eq!(client.get("/?name=zeug").send().text(), "Hello zeug!");
    let res = client.get("/").query(&[("name", "Grüße & <b>")]).send();
    assert_eq!(res.text(), "Hello Grüße & <b>!");
    // Plain text, so markup in the name is not interpreted by a browser.
    assert_eq!(res.mimetype(), "text/plain");
}

#[test]
fn hello_greets_the_name_from_the_path() {
    let client = Client::new(Hello::new());
    assert_eq!(client.get("/hello/Ada").send().text(), "Hello Ada!");
    assert_eq!(client.get("/hello/Ada%20L").send().text(), "Hello Ada L!");
}

#[test]
fn hello_answers_errors_as_values() {
    let client = Client::new(Hello::new());
    let res = client.get("/?name=").send();
    assert_eq!(res.status(), 400);
    assert!(res.text().contains("The name is empty."), "{}", res.text());

    for path in ["/nope", "/hello/", "/hello/a/b"] {
        assert_eq!(client.get(path).send().status(), 404, "{path}");
    }
    let res = client
        .get("/nope")
        .header("accept", "application/json")
        .send();
    assert_eq!(res.status(), 404);
    assert_eq!(res.mimetype(), "application/json");
}

#[test]
fn hello_answers_head_without_a_body() {
    let client = Client::new(Hello::new());
    let res = client.head("/?name=x").send();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().is_empty());
    assert_eq!(res.header("content-length"), Some("8"));
}
