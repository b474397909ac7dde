//! Request and response wrappers: [`Request`] reads an [`Environ`](crate::Environ),
//! [`Response`] is what an application returns.

mod request;
mod response;

pub use request::Request;
pub use response::{IntoStatus, Response, DEFAULT_MIMETYPE};
