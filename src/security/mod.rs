//! Security helpers: safe path joining, file-name sanitising and (with the `security`
//! feature) Werkzeug-compatible password hashing.

mod paths;
pub use paths::{is_windows_device_name, safe_join, secure_filename};

#[cfg(feature = "security")]
mod passwords;
#[cfg(feature = "security")]
pub use passwords::*;
