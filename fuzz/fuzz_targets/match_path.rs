//! Fuzzes matching: arbitrary paths and methods against a map with every kind of rule
//! (statics beside variables, several rules per shape, converters with arguments, `path`,
//! slash cases, methods, defaults). Nothing may panic, and a match must build back.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use zeug::routing::{BuildOptions, Map, Method, Rule};

fn map() -> &'static Map<&'static str> {
    static MAP: OnceLock<Map<&'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        Map::new([
            Rule::new("/", "index"),
            Rule::new("/<short_id>", "follow"),
            Rule::new("/<short_id>+", "details"),
            Rule::new("/page/<int:id>", "page_id"),
            Rule::new("/page/<name>", "page_name"),
            Rule::new("/page/new", "page_new").methods(["POST"]),
            Rule::new("/page/<float:f>", "page_float"),
            Rule::new("/f/<int(fixed_digits=3, max=500):n>", "fixed"),
            Rule::new("/blog/", "blog"),
            Rule::new("/blog/<int:year>/", "year"),
            Rule::new("/blog/<int:year>/<slug>", "post").methods(["GET", "PUT"]),
            Rule::new("/files/<path:p>", "files"),
            Rule::new("/files/<path:p>/edit", "edit_file"),
            Rule::new("/u/<uuid:u>", "uuid"),
            Rule::new("/a/<any(x, y, 'z w'):v>", "any"),
            Rule::new("/x-<a>.<int:b>", "mixed"),
            Rule::new("/loose", "loose").strict_slashes(false),
            Rule::new("/users/", "users").default("page", 1),
            Rule::new("/users/page/<int:page>", "users"),
        ])
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let method = [Method::GET, Method::POST, Method::PUT, Method::HEAD][usize::from(m % 4)].clone();
    let path = String::from_utf8_lossy(rest);
    let adapter = map().bind("example.com", "");
    if let Ok((endpoint, values)) = adapter.match_(&path, &method) {
        let options = BuildOptions::new().method(method.clone());
        let built = adapter.build_with(&endpoint, &values, &options);
        assert!(built.is_ok(), "{method} {path:?}: {built:?}");
    }
});
