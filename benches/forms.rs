//! (benchmark in progress)
fn main() {}
