//! Fuzzes the rule parser: any string given as a rule is accepted or refused with a
//! `RuleError`, never a panic; an accepted rule can be matched (with its own text as the
//! path) and a match built back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zeug::routing::{Map, Method, Rule};

fuzz_target!(|data: &[u8]| {
    let Ok(rule) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(map) = Map::try_new([Rule::new(rule, 0u8)]) else {
        return;
    };
    let adapter = map.bind("example.com", "");
    let _ = adapter.allowed_methods(rule);
    if let Ok((_, values)) = adapter.match_(rule, &Method::GET) {
        let _ = adapter.build(&0, &values);
    }
});
