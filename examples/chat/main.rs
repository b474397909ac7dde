//! A chat room: messages typed in one browser appear in every other one at once, over a
//! WebSocket, or over server-sent events where WebSockets do not get through.
//!
//! ```text
//! cargo run --features websocket --example chat      # then open http://127.0.0.1:5000/ twice
//! HOST=0.0.0.0 PORT=8000 cargo run --features websocket --example chat
//! ```
//!
//! `/ws` is the WebSocket (each text message sent is a chat message; every message is
//! pushed to every socket), `/events` the event stream (`chat` events, resumed after
//! `Last-Event-ID` when the browser reconnects) and `POST /send` how a page on events
//! sends. The room lives in memory: run one instance, or put a message broker behind
//! [`Hub`]. `docs/websockets.md` explains the code.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use zeug::routing::{Map, Rule};
use zeug::serving::{Options, run_simple_with};
use zeug::sse::{Event, EventStream, last_event_id};
use zeug::websocket::{Message, Sender, WebSocket, WebSocketUpgrade};
use zeug::{Application, Environ, HttpException, Request, Response};

/// The page: HTML, CSS and the script that picks the transport.
const PAGE: &str = include_str!("page.html");

/// Longest chat message, in characters.
pub const MAX_TEXT: usize = 1000;

/// Messages kept for event streams that reconnect with `Last-Event-ID`.
pub const HISTORY: usize = 100;

/// One chat message as the pages receive it (JSON).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChatMessage {
    pub id: u64,
    pub text: String,
}

/// The room: recent messages and everyone listening.
#[derive(Default)]
pub struct Hub {
    state: Mutex<HubState>,
}

#[derive(Default)]
struct HubState {
    next_id: u64,
    history: VecDeque<ChatMessage>,
    /// Listeners by a number of their own, so those that left can be removed.
    next_listener: u64,
    sockets: Vec<(u64, Sender)>,
    streams: Vec<(u64, mpsc::Sender<Event>)>,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a message and pushes it to everyone; listeners that went away are dropped.
    pub fn post(&self, text: &str) -> ChatMessage {
        let (message, sockets, streams) = {
            let mut state = self.lock();
            state.next_id += 1;
            let message = ChatMessage {
                id: state.next_id,
                text: text.to_owned(),
            };
            state.history.push_back(message.clone());
            if state.history.len() > HISTORY {
                state.history.pop_front();
            }
            (message, state.sockets.clone(), state.streams.clone())
        };
        // Sent outside the lock: a slow socket delays this post, not the whole room.
        let json = serde_json::to_string(&message).expect("a message is plain JSON");
        let mut gone: Vec<u64> = sockets
            .iter()
            .filter(|(_, s)| s.send(Message::text(json.clone())).is_err())
            .map(|(id, _)| *id)
            .collect();
        gone.extend(
            streams
                .iter()
                .filter(|(_, s)| s.send(chat_event(&message)).is_err())
                .map(|(id, _)| *id),
        );
        if !gone.is_empty() {
            let mut state = self.lock();
            state.sockets.retain(|(id, _)| !gone.contains(id));
            state.streams.retain(|(id, _)| !gone.contains(id));
        }
        message
    }

    /// How many pages listen (sockets, streams).
    pub fn listeners(&self) -> (usize, usize) {
        let state = self.lock();
        (state.sockets.len(), state.streams.len())
    }

    fn join_socket(&self, sender: Sender) {
        let mut state = self.lock();
        state.next_listener += 1;
        let id = state.next_listener;
        state.sockets.push((id, sender));
    }

    /// A new event stream: the messages after `after` first, then every new one.
    fn subscribe(&self, after: Option<u64>) -> mpsc::Receiver<Event> {
        let (tx, rx) = mpsc::channel();
        let mut state = self.lock();
        if let Some(after) = after {
            for message in state.history.iter().filter(|m| m.id > after) {
                let _ = tx.send(chat_event(message));
            }
        }
        state.next_listener += 1;
        let id = state.next_listener;
        state.streams.push((id, tx));
        rx
    }
}

fn chat_event(message: &ChatMessage) -> Event {
    Event::json(message)
        .with_event("chat")
        .with_id(message.id.to_string())
}

/// What a URL can lead to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Endpoint {
    Page,
    Socket,
    Events,
    Send,
}

/// The chat application: a room and its URLs.
pub struct Chat {
    hub: Arc<Hub>,
    url_map: Map<Endpoint>,
}

impl Chat {
    /// A chat with an empty room.
    pub fn new() -> Self {
        Chat::with_hub(Arc::default())
    }

    /// A chat on `hub` (several servers in one process can share a room).
    pub fn with_hub(hub: Arc<Hub>) -> Self {
        Chat {
            hub,
            url_map: Map::new(vec![
                Rule::new("/", Endpoint::Page),
                Rule::new("/ws", Endpoint::Socket),
                Rule::new("/events", Endpoint::Events),
                Rule::new("/send", Endpoint::Send).methods(["POST"]),
            ]),
        }
    }

    /// The room.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    fn dispatch(&self, request: &Request) -> Result<Response, HttpException> {
        let adapter = self.url_map.bind_to_environ(request.environ());
        let (endpoint, _) = adapter.match_(request.path(), request.method())?;
        match endpoint {
            Endpoint::Page => Ok(Response::html(PAGE)),
            Endpoint::Socket => self.socket(request),
            Endpoint::Events => Ok(self.events(request)),
            Endpoint::Send => self.send(request),
        }
    }

    /// `GET /ws`: the WebSocket. A browser page from another site may not join (it would
    /// come with this site's cookies); clients that send no `Origin` are not browsers.
    fn socket(&self, request: &Request) -> Result<Response, HttpException> {
        let upgrade = WebSocketUpgrade::from_request(request)?
            .protocols(&["chat.v1"])
            .max_message_size(4 * 1024)
            .write_timeout(Duration::from_secs(5));
        if upgrade.origin().is_some() && !upgrade.is_same_origin() {
            return Err(HttpException::forbidden()
                .with_description("WebSockets from other sites are not allowed here."));
        }
        let hub = Arc::clone(&self.hub);
        Ok(upgrade.on_upgrade(move |ws| talk(&hub, ws)))
    }

    /// `GET /events`: the event stream, resumed after `Last-Event-ID`.
    fn events(&self, request: &Request) -> Response {
        let after = last_event_id(request).and_then(|id| id.parse().ok());
        EventStream::from_receiver(self.hub.subscribe(after))
            .retry(Duration::from_secs(1))
            .into_response()
    }

    /// `POST /send` (form field `text`): how pages on the event stream talk.
    fn send(&self, request: &Request) -> Result<Response, HttpException> {
        let text = request.form()?.get("text").unwrap_or_default().trim();
        let text = check_text(text)?;
        self.hub.post(text);
        Ok(Response::new("").with_status(204))
    }
}

impl Default for Chat {
    fn default() -> Self {
        Chat::new()
    }
}

/// A message must have some text, and not too much.
fn check_text(text: &str) -> Result<&str, HttpException> {
    if text.is_empty() {
        return Err(HttpException::bad_request().with_description("An empty message."));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(HttpException::new(http::StatusCode::PAYLOAD_TOO_LARGE)
            .with_description(format!("A message has at most {MAX_TEXT} characters.")));
    }
    Ok(text)
}

/// One WebSocket's life: join the room, post what it says, until it leaves.
fn talk(hub: &Hub, mut ws: WebSocket) {
    hub.join_socket(ws.sender());
    while let Ok(message) = ws.recv() {
        let Message::Text(text) = message else {
            continue;
        };
        match check_text(text.trim()) {
            Ok(text) => {
                hub.post(text);
            }
            Err(e) => {
                let _ = ws.send(format!(
                    r#"{{"id":0,"text":"(not sent: {})"}}"#,
                    e.description().replace('"', "'")
                ));
            }
        }
    }
}

impl Application for Chat {
    fn call(&self, environ: Environ) -> Response {
        let request = Request::new(environ);
        self.dispatch(&request)
            .unwrap_or_else(|e| e.into_response())
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
    run_simple_with(&host, port, Chat::new(), Options::new())
}
