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
//! - `routing/zeug_build_into`: the same URLs with `build_into`, which
//!   appends each to a buffer the caller owns (here one buffer, cleared before each URL, as
//!   a template appends URLs to the page it renders).
//!
//! `bench/routing_vs_werkzeug.py` runs the same files through Werkzeug and prints ratios.
//! Run: `cargo bench --bench routing -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use zeug::routing::{BuildOptions, Map, MapAdapter, Method, Rule, Values};

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

/// The map, the matchit router over the equivalent patterns, the requests, and each
/// request's match (endpoint, values, and build options with its method), checked once
/// against what the workload says. Each measured loop is a method, so that criterion and
/// the counting mode run exactly the same code; the loops are inlined into their callers,
/// as written-out loops would be (out of line, `build_with` measured 15% slower from code
/// placement alone).
struct Workload {
    requests: Vec<(Method, &'static str, &'static str)>,
    map: Map<&'static str>,
    router: matchit::Router<&'static str>,
    matched: Vec<(&'static str, Values, BuildOptions)>,
}

fn workload() -> Workload {
    let rules = rules();
    let requests = requests();
    let map: Map<&'static str> = Map::new(
        rules
            .iter()
            .map(|(path, endpoint, methods)| Rule::new(*path, *endpoint).methods(methods)),
    );
    let mut router = matchit::Router::new();
    for (path, endpoint, _) in &rules {
        // Several rules may share a pattern (they differ by method); the first is enough.
        let _ = router.insert(matchit_pattern(path), *endpoint);
    }
    let matched = requests
        .iter()
        .map(|(method, path, want)| {
            let (got, values) = map.bind("localhost", "").match_(path, method).expect(path);
            assert_eq!(got, *want, "{path}");
            assert!(router.at(path).is_ok(), "{path}");
            (got, values, BuildOptions::new().method(method.clone()))
        })
        .collect();
    let w = Workload {
        requests,
        map,
        router,
        matched,
    };
    w.check_builds();
    w
}

impl Workload {
    /// Checks that both ways of building give back exactly the paths that were matched.
    fn check_builds(&self) {
        let adapter = self.map.bind("localhost", "");
        let mut buf = String::new();
        for ((endpoint, values, options), (_, path, _)) in self.matched.iter().zip(&self.requests) {
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
    }

    #[inline(always)]
    fn match_all(&self, adapter: &MapAdapter<'_, &'static str>) {
        for (method, path, _) in &self.requests {
            black_box(adapter.match_(black_box(path), method).ok());
        }
    }

    #[inline(always)]
    fn bind_match_all(&self) {
        for (method, path, _) in &self.requests {
            let adapter = self.map.bind(black_box("localhost"), "");
            black_box(adapter.match_(black_box(path), method).ok());
        }
    }

    #[inline(always)]
    fn matchit_all(&self) {
        for (_, path, _) in &self.requests {
            // The floor includes reading the parameters, as any router must.
            if let Ok(m) = self.router.at(black_box(path)) {
                black_box(*m.value);
                for (k, v) in m.params.iter() {
                    black_box((k, v));
                }
            }
        }
    }

    #[inline(always)]
    fn build_all(&self, adapter: &MapAdapter<'_, &'static str>) {
        for (endpoint, values, options) in &self.matched {
            black_box(adapter.build_with(endpoint, values, options).ok());
        }
    }

    #[inline(always)]
    fn build_into_all(&self, adapter: &MapAdapter<'_, &'static str>, buf: &mut String) {
        for (endpoint, values, options) in &self.matched {
            buf.clear();
            black_box(adapter.build_into(buf, endpoint, values, options).is_ok());
            black_box(buf.as_str());
        }
    }
}

fn bench(c: &mut Criterion) {
    let w = workload();
    let adapter = w.map.bind("localhost", "");
    let mut buf = String::new();
    let mut group = c.benchmark_group("routing");
    group.throughput(Throughput::Elements(w.requests.len() as u64));
    group.bench_function("zeug_match", |b| b.iter(|| w.match_all(&adapter)));
    group.bench_function("zeug_bind_match", |b| b.iter(|| w.bind_match_all()));
    group.bench_function("matchit_at", |b| b.iter(|| w.matchit_all()));
    group.bench_function("zeug_build", |b| b.iter(|| w.build_all(&adapter)));
    group.bench_function("zeug_build_into", |b| {
        b.iter(|| w.build_into_all(&adapter, &mut buf))
    });
    group.finish();
}

/// `ROUTING_COUNT=match|bind_match|matchit|build|build_into|none ROUTING_ROUNDS=n`: run
/// only that loop `n` times (default 100) and exit, for `valgrind --tool=callgrind`
/// instruction counts. `none` does the set-up alone, to subtract.
fn count(which: &str) {
    let rounds: usize = std::env::var("ROUTING_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100);
    let w = workload();
    let adapter = w.map.bind("localhost", "");
    let mut buf = String::new();
    for _ in 0..rounds {
        match which {
            "match" => w.match_all(&adapter),
            "bind_match" => w.bind_match_all(),
            "matchit" => w.matchit_all(),
            "build" => w.build_all(&adapter),
            "build_into" => w.build_into_all(&adapter, &mut buf),
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
