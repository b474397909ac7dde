//! Routing benchmarks on the workload in `benches/data/routing` (69 rules modelled on a real
//! app, 1000 requests; see its README):
//!
//! - `routing/zeug_match`: `match_` for all 1000 requests (converters, decoding into typed
//!   values, methods) on one bound adapter, as `bench/routing_vs_werkzeug.py` does with
//!   Werkzeug's;
//! - `routing/zeug_bind_match`: the same with a new `map.bind(...)` per request, as a server
//!   binds per request (binding is a few field copies);
//! - `routing/matchit_at`: raw `matchit::Router::at` over the equivalent patterns, reading
//!   the parameters — the floor;
//! - `routing/zeug_build`: building each matched URL back from its endpoint, values and
//!   method with `build_with`, which returns each URL as a new `String`;
//! - `routing/zeug_build_into`: the same URLs with `build_into`, the fast path, which
//!   appends each to a buffer the caller owns (here one buffer, cleared before each URL, as
//!   a template appends URLs to the page it renders).
//!
//! `bench/routing_vs_werkzeug.py` runs the same files through Werkzeug and prints ratios.
//! Run: `cargo bench --bench routing -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use zeug::routing::{BuildOptions, Map, Method, Rule, Values};

const RULES: &str = include_str!("data/routing/rules.txt");
const PATHS: &str = include_str!("data/routing/paths.txt");

/// Endpoint names as `&'static str`: an app would use an enum; either clones for free.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

fn rules() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    RULES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace();
            let path = leak(it.next().expect("rule"));
            let endpoint = leak(it.next().expect("endpoint"));
            let methods = it.next().expect("methods").split(',').map(leak).collect();
            (path, endpoint, methods)
        })
        .collect()
}

fn requests() -> Vec<(Method, &'static str, &'static str)> {
    PATHS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace();
            let method = Method::from_bytes(it.next().expect("method").as_bytes()).expect("method");
            (
                method,
                leak(it.next().expect("path")),
                leak(it.next().expect("endpoint")),
            )
        })
        .collect()
}

/// The matchit pattern equivalent to a Werkzeug rule: `<int:id>` → `{id}`, `<path:p>` →
/// `{*p}`.
fn matchit_pattern(rule: &str) -> String {
    let mut out = String::new();
    let mut rest = rule;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('>').expect("closed") + open;
        let inner = &rest[open + 1..close];
        let (conv, name) = inner.split_once(':').unwrap_or(("default", inner));
        if conv == "path" {
            out.push_str(&format!("{{*{name}}}"));
        } else {
            out.push_str(&format!("{{{name}}}"));
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn bench(c: &mut Criterion) {
    let rules = rules();
    let requests = requests();
    let map: Map<&'static str> = Map::new(
        rules
            .iter()
            .map(|(path, endpoint, methods)| Rule::new(*path, *endpoint).methods(methods)),
    );
    assert!(map.uses_fast_path());

    let mut router = matchit::Router::new();
    for (path, endpoint, _) in &rules {
        // Several rules may share a pattern (they differ by method); the first is enough.
        let _ = router.insert(matchit_pattern(path), *endpoint);
    }

    // Check once that every request matches what the workload says.
    let matched: Vec<(&'static str, Values, Method)> = requests
        .iter()
        .map(|(method, path, want)| {
            let (got, values) = map.bind("localhost", "").match_(path, method).expect(path);
            assert_eq!(got, *want, "{path}");
            assert!(router.at(path).is_ok(), "{path}");
            (got, values, method.clone())
        })
        .collect();

    let mut group = c.benchmark_group("routing");
    group.throughput(Throughput::Elements(requests.len() as u64));
    let adapter = map.bind("localhost", "");
    group.bench_function("zeug_match", |b| {
        b.iter(|| {
            for (method, path, _) in &requests {
                black_box(adapter.match_(black_box(path), method).ok());
            }
        })
    });
    group.bench_function("zeug_bind_match", |b| {
        b.iter(|| {
            for (method, path, _) in &requests {
                let adapter = map.bind(black_box("localhost"), "");
                black_box(adapter.match_(black_box(path), method).ok());
            }
        })
    });
    group.bench_function("matchit_at", |b| {
        b.iter(|| {
            for (_, path, _) in &requests {
                // The floor includes reading the parameters, as any router must.
                if let Ok(m) = router.at(black_box(path)) {
                    black_box(*m.value);
                    for (k, v) in m.params.iter() {
                        black_box((k, v));
                    }
                }
            }
        })
    });
    let options: Vec<BuildOptions> = matched
        .iter()
        .map(|(_, _, method)| BuildOptions::new().method(method.clone()))
        .collect();
    group.bench_function("zeug_build", |b| {
        b.iter(|| {
            for ((endpoint, values, _), options) in matched.iter().zip(&options) {
                black_box(adapter.build_with(endpoint, values, options).ok());
            }
        })
    });
    // Check once that both ways build the same URLs, the paths that were matched.
    let mut buf = String::new();
    for (((endpoint, values, _), options), (_, path, _)) in
        matched.iter().zip(&options).zip(&requests)
    {
        buf.clear();
        adapter
            .build_into(&mut buf, endpoint, values, options)
            .expect(path);
        assert_eq!(buf, *path);
        assert_eq!(
            adapter.build_with(endpoint, values, options).as_deref(),
            Ok(*path)
        );
    }
    group.bench_function("zeug_build_into", |b| {
        b.iter(|| {
            for ((endpoint, values, _), options) in matched.iter().zip(&options) {
                buf.clear();
                black_box(
                    adapter
                        .build_into(&mut buf, endpoint, values, options)
                        .is_ok(),
                );
                black_box(buf.as_str());
            }
        })
    });
    group.finish();
}

/// `ROUTING_COUNT=match|bind_match|matchit|build|build_into|none ROUTING_ROUNDS=n`: run only that loop `n` times
/// (default 100) and exit, for `valgrind --tool=callgrind` instruction counts. `none` does
/// the set-up alone, to subtract.
fn count(which: &str) {
    let rounds: usize = std::env::var("ROUTING_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100);
    let rules = rules();
    let requests = requests();
    let map: Map<&'static str> = Map::new(
        rules
            .iter()
            .map(|(path, endpoint, methods)| Rule::new(*path, *endpoint).methods(methods)),
    );
    let mut router = matchit::Router::new();
    for (path, endpoint, _) in &rules {
        let _ = router.insert(matchit_pattern(path), *endpoint);
    }
    let matched: Vec<(&'static str, Values, BuildOptions)> = requests
        .iter()
        .map(|(method, path, _)| {
            let (got, values) = map.bind("localhost", "").match_(path, method).expect(path);
            (got, values, BuildOptions::new().method(method.clone()))
        })
        .collect();
    let adapter = map.bind("localhost", "");
    let mut buf = String::new();
    for _ in 0..rounds {
        match which {
            "match" => {
                for (method, path, _) in &requests {
                    black_box(adapter.match_(black_box(path), method).ok());
                }
            }
            "bind_match" => {
                for (method, path, _) in &requests {
                    let adapter = map.bind(black_box("localhost"), "");
                    black_box(adapter.match_(black_box(path), method).ok());
                }
            }
            "matchit" => {
                for (_, path, _) in &requests {
                    if let Ok(m) = router.at(black_box(path)) {
                        black_box(*m.value);
                        for (k, v) in m.params.iter() {
                            black_box((k, v));
                        }
                    }
                }
            }
            "build" => {
                for (endpoint, values, options) in &matched {
                    black_box(adapter.build_with(endpoint, values, options).ok());
                }
            }
            "build_into" => {
                for (endpoint, values, options) in &matched {
                    buf.clear();
                    black_box(
                        adapter
                            .build_into(&mut buf, endpoint, values, options)
                            .is_ok(),
                    );
                    black_box(buf.as_str());
                }
            }
            _ => {}
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    match std::env::var("ROUTING_COUNT") {
        Ok(which) => count(&which),
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
