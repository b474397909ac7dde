//! Request parsing and the test client's round trip.
//!
//! - `wrappers/parse_request`: wrap an environ carrying 20 query arguments, 10 cookies and a
//!   20-field urlencoded form, and parse all three.
//! - `wrappers/parse_request_freed`: the same, with everything the request parsed dropped
//!   inside the timed routine (`Request::into_environ`), and the environ outside it. This
//!   mirrors the Python side, where the `Request` and what it parsed are freed when
//!   `run()` returns, inside `timeit`, while the environ dict lives on in the list of
//!   prepared environs; `parse_request` leaves all drops to criterion, outside the timing.
//! - `wrappers/client_roundtrip`: a hello app called through `test::Client` (build the
//!   environ, call, collect the response).
//!
//! `bench/client_vs_werkzeug.py` runs the same work through Werkzeug for the ratio.

use bytes::Bytes;
use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use zeug::environ::Input;
use zeug::test::{Client, EnvironBuilder};
use zeug::{Environ, Request, Response};

fn template() -> (Environ, Bytes) {
    let query: Vec<String> = (0..20).map(|i| format!("arg{i}=value%20{i}")).collect();
    let cookies: Vec<String> = (0..10).map(|i| format!("cookie{i}=v{i}%3Bx")).collect();
    let form: Vec<(String, String)> = (0..20)
        .map(|i| (format!("field{i}"), format!("some value {i} & more")))
        .collect();
    let body = Bytes::from(zeug::urls::urlencode(
        form.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ));
    let env = EnvironBuilder::new("POST", &format!("/submit?{}", query.join("&")))
        .header("cookie", &cookies.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", &body.len().to_string())
        .build();
    (env, body)
}

fn clone_environ(t: &Environ, body: &Bytes) -> Environ {
    Environ {
        method: t.method.clone(),
        script_name: t.script_name.clone(),
        path_info: t.path_info.clone(),
        query_string: t.query_string.clone(),
        request_uri: t.request_uri.clone(),
        version: t.version,
        headers: t.headers.clone(),
        input: Input::from_bytes(body.clone()),
        url_scheme: t.url_scheme.clone(),
        remote_addr: t.remote_addr.clone(),
        remote_port: t.remote_port,
        server_name: t.server_name.clone(),
        server_port: t.server_port,
        multithread: t.multithread,
        multiprocess: t.multiprocess,
        run_once: t.run_once,
        extensions: Default::default(),
    }
}

fn parse_request(c: &mut Criterion) {
    let (template, body) = template();
    c.bench_function("wrappers/parse_request", |b| {
        b.iter_batched(
            || clone_environ(&template, &body),
            |environ| {
                let req = Request::new(environ);
                assert_eq!(req.args().len(), 20);
                assert_eq!(req.cookies().len(), 10);
                assert_eq!(req.form().unwrap().len(), 20);
                black_box(req)
            },
            BatchSize::SmallInput,
        )
    });
}

fn parse_request_freed(c: &mut Criterion) {
    let (template, body) = template();
    c.bench_function("wrappers/parse_request_freed", |b| {
        b.iter_batched(
            || clone_environ(&template, &body),
            |environ| {
                let req = Request::new(environ);
                assert_eq!(req.args().len(), 20);
                assert_eq!(req.cookies().len(), 10);
                assert_eq!(req.form().unwrap().len(), 20);
                black_box(req).into_environ()
            },
            BatchSize::SmallInput,
        )
    });
}

fn hello(environ: Environ) -> Response {
    let req = Request::new(environ);
    let name = req.args().get("name").unwrap_or("World");
    Response::new(format!("Hello {name}!"))
}

fn client_roundtrip(c: &mut Criterion) {
    let client = Client::new(hello);
    c.bench_function("wrappers/client_roundtrip", |b| {
        b.iter(|| {
            let res = client.get("/?name=zeug").send();
            assert_eq!(res.status(), 200);
            black_box(res)
        })
    });
}

criterion_group!(
    benches,
    parse_request,
    parse_request_freed,
    client_roundtrip
);
criterion_main!(benches);
