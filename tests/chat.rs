//! The chat example through the test client: WebSockets and event streams in-process.
#![cfg(feature = "websocket")]

#[path = "../examples/chat/main.rs"]
#[allow(dead_code)]
mod chat;

use std::sync::Arc;

use zeug::test::Client;
use zeug::websocket::Message;

fn json(message: Result<Message, zeug::websocket::Error>) -> serde_json::Value {
    match message {
        Ok(Message::Text(t)) => serde_json::from_str(&t).unwrap(),
        other => panic!("expected a JSON text message, got {other:?}"),
    }
}

#[test]
fn the_page_offers_both_transports() {
    let client = Client::new(chat::Chat::new());
    let page = client.get("/").send();
    assert_eq!(page.status(), 200);
    assert!(page.text().contains("new WebSocket(url, \"chat.v1\")"));
    assert!(page.text().contains("new EventSource(\"events\")"));
}

#[test]
fn a_message_reaches_sockets_and_streams() {
    let app = chat::Chat::new();
    let hub = Arc::clone(app.hub());
    let client = Client::new(app);
    let mut alice = client
        .get("/ws")
        .header("sec-websocket-protocol", "chat.v1")
        .websocket()
        .unwrap();
    assert_eq!(alice.protocol(), Some("chat.v1"));
    let mut bob = client.get("/events").stream();
    assert_eq!(bob.header("content-type"), Some("text/event-stream"));
    // Alice's socket has joined once her first message comes back to her.
    alice.send("hello from alice").unwrap();
    assert_eq!(json(alice.recv())["text"], "hello from alice");
    let event = bob.next_event().unwrap();
    assert_eq!(event.event(), Some("chat"));
    assert_eq!(event.id(), Some("1"));
    let data: serde_json::Value = serde_json::from_str(event.data()).unwrap();
    assert_eq!(data["text"], "hello from alice");

    // Bob answers over POST; Alice's socket gets it.
    let sent = client.post("/send").form(&[("text", "hi alice")]).send();
    assert_eq!(sent.status(), 204);
    assert_eq!(json(alice.recv())["text"], "hi alice");
    assert_eq!(bob.next_event().unwrap().id(), Some("2"));
    assert_eq!(hub.listeners(), (1, 1));

    // Bob's page goes away: the room forgets him at the next message.
    drop(bob);
    hub.post("anyone?");
    assert_eq!(hub.listeners(), (1, 0));
}

#[test]
fn a_reconnecting_stream_gets_what_it_missed() {
    let app = chat::Chat::new();
    let hub = Arc::clone(app.hub());
    for text in ["one", "two", "three"] {
        hub.post(text);
    }
    let client = Client::new(app);
    let mut stream = client.get("/events").header("last-event-id", "1").stream();
    assert_eq!(stream.retry(), None);
    let texts: Vec<String> = (0..2)
        .map(|_| {
            let event = stream.next_event().unwrap();
            serde_json::from_str::<serde_json::Value>(event.data()).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(texts, ["two", "three"]);
    assert_eq!(stream.retry(), Some(std::time::Duration::from_secs(1)));
}

#[test]
fn bad_messages_and_foreign_pages_are_refused() {
    let client = Client::new(chat::Chat::new());
    assert_eq!(
        client.post("/send").form(&[("text", "  ")]).send().status(),
        400
    );
    let long = "x".repeat(chat::MAX_TEXT + 1);
    assert_eq!(
        client
            .post("/send")
            .form(&[("text", &long)])
            .send()
            .status(),
        413
    );
    let foreign = client
        .get("/ws")
        .header("origin", "https://elsewhere.example")
        .websocket()
        .unwrap_err();
    assert_eq!(foreign.status(), 403);
    let mut ws = client.websocket("/ws");
    ws.send(long).unwrap();
    let reply = json(ws.recv());
    assert_eq!(reply["id"], 0);
    assert!(
        reply["text"].as_str().unwrap().contains("at most"),
        "{reply}"
    );
}
