//! WebSocket and server-sent events under load (being written).
fn main() {}
