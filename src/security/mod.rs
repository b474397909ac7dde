//! Security helpers: safe path joining, file-name sanitising and (with the `security`
//! feature) Werkzeug-compatible password hashing.

mod paths;
#[allow(unused_imports)] // until the module has items
pub use paths::*;

#[cfg(feature = "security")]
mod passwords;
#[cfg(feature = "security")]
#[allow(unused_imports)] // until the module has items
pub use passwords::*;
