//! The in-process test client: drive an [`Application`](crate::Application) without a
//! socket, the way Werkzeug's and Flask's test clients do.
//!
//! [`Client`] keeps a cookie jar and can follow redirects; [`EnvironBuilder`] builds an
//! [`Environ`](crate::Environ) by hand. "The test client is just another server": it
//! turns a request into an environ, calls the app and collects the response.

mod client;
mod environ_builder;

pub use client::{Client, RequestBuilder, TestResponse};
pub use environ_builder::EnvironBuilder;
