//! The chat example in a real browser: headless Chromium with two pages (tabs) on the chat
//! served by zeug's own server. The first page talks over a WebSocket, the second over the
//! event-stream fallback (`?transport=sse`); what is typed in one appears in the other.
//!
//! Needs `chromium` and `chromium-driver` (see `tests/common/webdriver.rs`).
#![cfg(feature = "websocket")]

#[path = "../examples/chat/main.rs"]
#[allow(dead_code)]
mod chat;
mod common;

use common::TestServer;
use common::webdriver::{Browser, Driver};
use serde_json::json;
use zeug::serving::Options;

/// The chat served by zeug's real server on a free port; shut down when dropped.
fn serve() -> TestServer {
    // Open sockets and streams are in flight at shutdown: do not wait long for them.
    let options = Options::new().shutdown_grace_period(std::time::Duration::from_millis(200));
    TestServer::start(chat::Chat::new(), options)
}

fn url(server: &TestServer, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

/// The texts of the messages shown on the current page.
fn messages(browser: &Browser<'_>) -> Vec<String> {
    let value = browser.script(
        "return Array.from(document.querySelectorAll('#messages li'), li => li.textContent)",
    );
    serde_json::from_value(value).unwrap()
}

fn wait_for_transport(browser: &Browser<'_>, transport: &str) {
    browser.wait_until(&format!("the page to connect over {transport}"), |b| {
        b.script("return document.body.dataset.transport || ''") == json!(transport)
    });
}

fn say(browser: &Browser<'_>, text: &str) {
    browser.type_into("#message", text);
    browser.click("#send");
}

fn wait_for_message(browser: &Browser<'_>, text: &str) {
    browser.wait_until(&format!("{text:?} to appear"), |b| {
        messages(b).iter().any(|m| m == text)
    });
}

#[test]
fn messages_travel_between_two_pages_over_websocket_and_events() {
    let served = serve();
    let driver = Driver::start();
    let browser = Browser::open(&driver);

    let websocket_page = browser.window();
    browser.goto(&url(&served, "/"));
    wait_for_transport(&browser, "websocket");

    let events_page = browser.new_tab();
    browser.switch_to(&events_page);
    browser.goto(&url(&served, "/?transport=sse"));
    wait_for_transport(&browser, "sse");

    // Typed on the event-stream page (sent with POST), shown on the WebSocket page.
    say(&browser, "hello from the events page");
    wait_for_message(&browser, "hello from the events page");
    browser.switch_to(&websocket_page);
    wait_for_message(&browser, "hello from the events page");

    // Typed on the WebSocket page, shown on the event-stream page.
    say(&browser, "hello from the websocket page");
    wait_for_message(&browser, "hello from the websocket page");
    browser.switch_to(&events_page);
    wait_for_message(&browser, "hello from the websocket page");
    assert_eq!(
        messages(&browser),
        [
            "hello from the events page",
            "hello from the websocket page"
        ]
    );
}
