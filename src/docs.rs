//! The README and the guides in `docs/`, compiled as doctests (`cargo test --doc`): every
//! Rust block in them is a test, so a guide cannot drift from the crate. A block that
//! shows part of a file (`rust,ignore,file=PATH`) is instead checked by `tests/shortly.rs`
//! to be a verbatim copy of that compiled file.

#[doc = include_str!("../README.md")]
pub mod readme {}

#[doc = include_str!("../docs/architecture.md")]
pub mod architecture {}

#[doc = include_str!("../docs/deployment.md")]
pub mod deployment {}

#[cfg(feature = "sessions")]
#[doc = include_str!("../docs/from-flask.md")]
pub mod from_flask {}

#[doc = include_str!("../docs/forms.md")]
pub mod forms {}

#[doc = include_str!("../docs/how-it-works.md")]
pub mod how_it_works {}

#[doc = include_str!("../docs/httpbin.md")]
pub mod httpbin {}

#[doc = include_str!("../docs/interface.md")]
pub mod interface {}

#[doc = include_str!("../docs/middleware.md")]
pub mod middleware {}

#[doc = include_str!("../docs/performance.md")]
pub mod performance {}

#[doc = include_str!("../docs/routing.md")]
pub mod routing {}

#[doc = include_str!("../docs/serving.md")]
pub mod serving {}

#[cfg(feature = "sessions")]
#[doc = include_str!("../docs/sessions.md")]
pub mod sessions {}

#[doc = include_str!("../docs/tutorial.md")]
pub mod tutorial {}

#[doc = include_str!("../docs/werkzeug.md")]
pub mod werkzeug {}

#[cfg(feature = "websocket")]
#[doc = include_str!("../docs/websockets.md")]
pub mod websockets {}
