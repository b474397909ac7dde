//! Data structures for HTTP values: [`MultiDict`] (of [`Text`] values), [`Accept`], [`FileStorage`], and the
//! parsed forms of `Authorization` ([`Authorization`]), entity tags ([`ETags`]), ranges
//! ([`Range`], [`ContentRange`], [`IfRange`]) and `Cache-Control` ([`CacheControl`]).
//!
//! Each type parses leniently (hostile input gives an empty or `None` value, never a panic)
//! and formats back to a header value with `Display`. The functions that combine them with
//! requests and responses are in [`crate::http_utils`].

mod accept;
mod authorization;
mod cache_control;
mod etags;
mod file_storage;
mod multidict;
mod range;
mod text;

pub use accept::{Accept, MAX_ACCEPT_ITEMS};
pub use authorization::{AuthParams, Authorization, MAX_AUTHORIZATION_LEN};
pub use cache_control::CacheControl;
pub use etags::{ETags, InvalidETag, MAX_ETAGS};
pub use file_storage::{
    FileStorage, FileStorageBuilder, FileStorageReader, SPOOL_BLOCK_SIZE, SpoolFile,
};
pub use multidict::{MultiDict, MultiDictIntoIter};
pub use range::{ByteRange, ContentRange, IfRange, MAX_RANGES, Range};
pub use text::Text;
