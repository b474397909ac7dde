//! The in-process test client: drive an [`Application`](crate::Application) without a
//! socket, the way Werkzeug's and Flask's test clients do.
//!
//! [`Client`] keeps a cookie jar and can follow redirects; [`EnvironBuilder`] builds an
//! [`Environ`](crate::Environ) by hand (forms, multipart files, JSON, streams, auth).
//! "The test client is just another server": it turns a request into an environ, calls the
//! app and collects the response into a [`TestResponse`]. It owns no parsing of its own:
//! responses are read with the same `http_utils` and `cookie` code the app uses.

mod client;
mod cookie_jar;
mod environ_builder;
mod live;

pub use client::{
    Client, DEFAULT_MAX_REDIRECTS, RequestBuilder, RequestInfo, TestResponse, resolve_url,
};
pub use cookie_jar::StoredCookie;
pub use environ_builder::EnvironBuilder;
pub use live::TestStream;
#[cfg(feature = "websocket")]
pub use live::TestWebSocket;
