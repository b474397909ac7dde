//! The Shortly example's storage (`examples/shortly/storage.rs`); the full suite follows
//! once routing, `SharedData` and the server are in.

#[path = "../examples/shortly/storage.rs"]
#[allow(dead_code)]
mod storage;
