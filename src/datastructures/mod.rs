//! Data structures for HTTP values: [`MultiDict`], [`Accept`], [`FileStorage`] and the
//! parsed forms of `Authorization`, `ETag`s and `Range`.

mod accept;
mod file_storage;
mod multidict;

pub use accept::Accept;
pub use file_storage::FileStorage;
pub use multidict::MultiDict;
