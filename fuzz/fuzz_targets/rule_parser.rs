//! Fuzzes the rule parser: any string given as a rule is accepted or refused with a
//! `RuleError`, never a panic; accepted rules can be matched and built.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rule) = std::str::from_utf8(data) {
        let _ = zeug::routing::fuzzing::parse_rule(rule);
    }
});
