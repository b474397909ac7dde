//! Request and response wrappers: [`Request`] reads an [`Environ`](crate::Environ),
//! [`Response`] is what an application returns.
//!
//! `request.rs` and `response.rs` hold the core of each; `request_headers.rs` the
//! header-derived request accessors, `cookies.rs` cookie setting and `conditional.rs`
//! ETags, caching headers and conditional/range responses, as further `impl` blocks.

mod conditional;
pub use conditional::RangeOptions;
mod cookies;
mod request;
mod request_headers;
mod response;

pub use cookies::{
    CookieOptions, InvalidCookie, SameSite, normalize_cookie_domain, quote_cookie_path,
};
pub use request::Request;
pub use response::{
    DEFAULT_MIMETYPE, IntoHeaderName, IntoHeaderValue, IntoMimetype, IntoResponse, IntoStatus,
    InvalidHeader, Response,
};
