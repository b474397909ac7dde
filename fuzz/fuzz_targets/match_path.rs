//! Fuzzes matching: arbitrary paths and methods against a map with every kind of rule. The
//! fast path (the segment tree) and Werkzeug's state machine must give the same answer, and nothing
//! may panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use zeug::routing::{fuzzing, Map, Method};

fn map() -> &'static Map<&'static str> {
    static MAP: OnceLock<Map<&'static str>> = OnceLock::new();
    MAP.get_or_init(fuzzing::sample_map)
}

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let method = [Method::GET, Method::POST, Method::PUT, Method::HEAD][usize::from(m % 4)].clone();
    let path = String::from_utf8_lossy(rest);
    fuzzing::check_path(map(), &path, &method);
});
