//! Middleware and file helpers, per request.
//!
//! - `middleware/shared_data_hit`: `SharedData` answering a GET for a 1 KiB file (path
//!   resolution with `safe_join`, `stat`, open, headers, ETag) and the body read to the end.
//! - `middleware/shared_data_hit_follow_symlinks`: the same with `follow_symlinks(true)`,
//!   which skips canonicalising the file and the mounted directory: the difference is what
//!   the default containment check costs.
//! - `middleware/shared_data_304`: the same request with a matching `If-None-Match`.
//! - `middleware/proxy_fix`: `ProxyFix` (for, proto, host) in front of an app that
//!   returns a fixed response.
//! - `middleware/compress_gzip_16k`: `Compress` gzipping a 16 KiB HTML page.
//! - `files/safe_join` and `files/secure_filename`: one typical call each.
//!
//! `bench/middleware_vs_werkzeug.py` runs the same work through Werkzeug for the ratio.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use zeug::middleware::{Compress, ProxyFix, SharedData};
use zeug::security::{safe_join, secure_filename};
use zeug::test::EnvironBuilder;
use zeug::{Application, Environ, Response};

fn fallback(_: Environ) -> Response {
    Response::new("app").with_status(404)
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("css")).unwrap();
    std::fs::write(dir.path().join("css/site.css"), "x".repeat(1024)).unwrap();
    let shared = SharedData::new(fallback).mount("/static", dir.path());

    c.bench_function("middleware/shared_data_hit", |b| {
        b.iter(|| {
            let env = EnvironBuilder::new("GET", "/static/css/site.css").build();
            let res = shared.call(env);
            black_box(res.into_body().into_bytes().unwrap());
        })
    });

    let following = SharedData::new(fallback)
        .mount("/static", dir.path())
        .follow_symlinks(true);
    c.bench_function("middleware/shared_data_hit_follow_symlinks", |b| {
        b.iter(|| {
            let env = EnvironBuilder::new("GET", "/static/css/site.css").build();
            let res = following.call(env);
            black_box(res.into_body().into_bytes().unwrap());
        })
    });

    let etag = shared
        .call(EnvironBuilder::new("GET", "/static/css/site.css").build())
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    c.bench_function("middleware/shared_data_304", |b| {
        b.iter(|| {
            let env = EnvironBuilder::new("GET", "/static/css/site.css")
                .header("if-none-match", &etag)
                .build();
            let res = shared.call(env);
            assert_eq!(res.status(), 304);
            black_box(res);
        })
    });

    let proxy = ProxyFix::new(|_: Environ| Response::new("ok"))
        .x_for(1)
        .x_proto(1)
        .x_host(1);
    c.bench_function("middleware/proxy_fix", |b| {
        b.iter(|| {
            let env = EnvironBuilder::new("GET", "/")
                .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-host", "example.com")
                .build();
            black_box(proxy.call(env));
        })
    });

    let page =
        "<li class=\"item\">an item of a list that repeats itself</li>\n".repeat(16 * 1024 / 58);
    let compress = Compress::new(move |_: Environ| Response::html(page.clone()));
    c.bench_function("middleware/compress_gzip_16k", |b| {
        b.iter(|| {
            let env = EnvironBuilder::new("GET", "/")
                .header("accept-encoding", "gzip")
                .build();
            black_box(compress.call(env).into_body().into_bytes().unwrap());
        })
    });

    c.bench_function("files/safe_join", |b| {
        b.iter(|| {
            black_box(safe_join(
                black_box("/srv/static"),
                black_box("css/v2/site.min.css"),
            ))
        })
    });
    c.bench_function("files/secure_filename", |b| {
        b.iter(|| black_box(secure_filename(black_box("Résumé final (v2) ünïcödé.pdf"))))
    });
}

criterion_group!(middleware, benches);
criterion_main!(middleware);
