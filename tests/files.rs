//! File responses and path safety: `send_file`, `send_from_directory`, `safe_join` and
//! `secure_filename`, through the test client.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use zeug::security::{safe_join, secure_filename};
use zeug::test::{Client, EnvironBuilder};
use zeug::utils::{FileOptions, send_file, send_file_with, send_from_directory};
use zeug::{Body, Environ, Request, Response};

/// `secure_filename` outputs of Werkzeug 3.1 (`werkzeug.utils.secure_filename`), run as on
/// Windows (`os.name == "nt"`, both `/` and `\` separators), which zeug follows on every
/// platform. Produced with:
/// `python3 -c 'import types, werkzeug.utils as u; u.os = types.SimpleNamespace(name="nt",
/// sep="\\", path=types.SimpleNamespace(altsep="/")); print(u.secure_filename(NAME))'`
const WERKZEUG_SECURE_FILENAMES: &[(&str, &str)] = &[
    ("My cool movie.mov", "My_cool_movie.mov"),
    ("../../../etc/passwd", "etc_passwd"),
    (
        "i contain cool \u{fc}ml\u{e4}uts.txt",
        "i_contain_cool_umlauts.txt",
    ),
    ("__filename__", "filename"),
    ("...", ""),
    ("  ", ""),
    ("CON", "_CON"),
    ("con.txt", "_con.txt"),
    ("aux", "_aux"),
    ("nul.tar.gz", "_nul.tar.gz"),
    ("COM1", "_COM1"),
    ("lpt9.log", "_lpt9.log"),
    ("LPT\u{b9}", "_LPT1"),
    ("conin$", "conin"),
    ("C:\\Users\\me\\evil.exe", "C_Users_me_evil.exe"),
    ("a\\b/c", "a_b_c"),
    ("foo\u{0}bar.txt", "foobar.txt"),
    ("r\u{e9}sum\u{e9} final (v2).pdf", "resume_final_v2.pdf"),
    ("\u{65e5}\u{672c}\u{8a9e}.txt", "txt"),
    ("\u{fb01}le.txt", "file.txt"),
    ("\u{bd} report.docx", "12_report.docx"),
    ("file\tname\nx.txt", "file_name_x.txt"),
    (".bashrc", "bashrc"),
    ("_private.py", "private.py"),
    ("-rf", "-rf"),
    ("a..b", "a..b"),
    ("hello-world_v1.2.tar.gz", "hello-world_v1.2.tar.gz"),
    ("  leading and trailing  ", "leading_and_trailing"),
    (
        "\u{dc}n\u{ef}c\u{f6}d\u{e9}-\u{f1}ame.png",
        "Unicode-name.png",
    ),
    ("\u{1f600}smile.png", "smile.png"),
    ("xxxxxxxxxx.TXT", "xxxxxxxxxx.TXT"),
    ("%2e%2e%2fetc", "2e2e2fetc"),
    ("..\\..\\windows\\system32", "windows_system32"),
    ("console.log", "console.log"),
    ("CONOUT$.txt", "CONOUT.txt"),
    ("prn", "_prn"),
    ("com0", "com0"),
    ("a ( b", "a__b"),
    ("(((", ""),
    ("  (x)  y ", "x_y"),
    ("a\u{1c}b", "a_b"),
    ("..__..a", "a"),
    ("x/(/y", "x__y"),
];

#[test]
fn secure_filename_matches_werkzeug() {
    for (input, expected) in WERKZEUG_SECURE_FILENAMES {
        assert_eq!(
            secure_filename(input),
            *expected,
            "secure_filename({input:?})"
        );
    }
}

#[test]
fn secure_filenames_are_always_safe_to_join() {
    for (input, _) in WERKZEUG_SECURE_FILENAMES {
        let name = secure_filename(input);
        if !name.is_empty() {
            assert!(
                safe_join("/uploads", &name).is_some(),
                "{input:?} -> {name:?}"
            );
        }
    }
}

#[test]
fn safe_join_accepts_paths_that_stay_inside() {
    let cases = [
        ("css/site.css", "/srv/css/site.css"),
        ("a/./b", "/srv/a/b"),
        ("a//b/", "/srv/a/b"),
        ("a/../b", "/srv/b"),
        ("docs/v1.2/..hidden", "/srv/docs/v1.2/..hidden"),
        ("con-notes.txt", "/srv/con-notes.txt"),
        ("ünïcode/名前.txt", "/srv/ünïcode/名前.txt"),
    ];
    for (untrusted, expected) in cases {
        assert_eq!(
            safe_join("/srv", untrusted),
            Some(PathBuf::from(expected)),
            "{untrusted}"
        );
    }
}

#[test]
fn safe_join_refuses_traversal_and_dangerous_names() {
    let refused = [
        "..",
        "../etc/passwd",
        "a/../../etc/passwd",
        "/etc/passwd",
        "\\\\server\\share",
        "..\\..\\boot.ini",
        "a\\b",
        "C:\\Windows",
        "C:/Windows",
        "d:relative",
        "name\0.txt",
        "name\r\n.txt",
        "%2e%2e/etc",
        "%2E%2E%2Fetc",
        "a%2fb",
        "a%5Cb",
        "%00",
        "CON",
        "con",
        "aux.txt",
        "sub/nul",
        "sub/NUL.tar.gz",
        "COM1",
        "com9.txt",
        "LPT1",
        "lpt3.log",
        "PRN",
        "CONIN$",
        "trailing.",
        "trailing ",
    ];
    for untrusted in refused {
        assert_eq!(safe_join("/srv", untrusted), None, "{untrusted:?}");
    }
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(dir.path().join("logo.png"), [0x89, b'P', b'N', b'G']).unwrap();
    std::fs::write(dir.path().join("app.js.gz"), [0x1f, 0x8b, 0x08]).unwrap();
    std::fs::write(dir.path().join("blob"), "0123456789").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/inner.txt"), "inner").unwrap();
    dir
}

fn file_app(path: PathBuf, options: FileOptions) -> Client {
    Client::new(move |environ: Environ| {
        let request = Request::new(environ);
        send_file_with(&path, &request, &options).unwrap_or_else(|e| e.into_response())
    })
}

#[test]
fn send_file_guesses_the_mimetype_and_sets_caching_headers() {
    let dir = fixture();
    let res = file_app(dir.path().join("report.csv"), FileOptions::new())
        .get("/")
        .send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "a,b\n1,2\n");
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(res.header("content-length"), Some("8"));
    assert_eq!(
        res.header("content-disposition"),
        Some("inline; filename=report.csv")
    );
    assert_eq!(res.header("cache-control"), Some("no-cache"));
    assert_eq!(res.header("accept-ranges"), Some("bytes"));
    assert!(res.header("last-modified").is_some());
    let etag = res.header("etag").unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let res = file_app(dir.path().join("logo.png"), FileOptions::new())
        .get("/")
        .send();
    assert_eq!(res.header("content-type"), Some("image/png"));
    let res = file_app(dir.path().join("blob"), FileOptions::new())
        .get("/")
        .send();
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));
}

#[test]
fn send_file_marks_precompressed_files_unless_downloaded() {
    let dir = fixture();
    let res = file_app(dir.path().join("app.js.gz"), FileOptions::new())
        .get("/")
        .send();
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert!(res.header("content-type").unwrap().contains("javascript"));
    let res = file_app(
        dir.path().join("app.js.gz"),
        FileOptions::new().as_attachment(true),
    )
    .get("/")
    .send();
    assert_eq!(res.header("content-encoding"), None);
}

#[test]
fn send_file_attachments_use_rfc6266_names() {
    let dir = fixture();
    let res = file_app(
        dir.path().join("report.csv"),
        FileOptions::new()
            .as_attachment(true)
            .download_name("Quartalsbericht Ü1 2024.csv"),
    )
    .get("/")
    .send();
    assert_eq!(
        res.header("content-disposition"),
        Some(
            "attachment; filename=\"Quartalsbericht U1 2024.csv\"; \
             filename*=UTF-8''Quartalsbericht%20%C3%9C1%202024.csv"
        )
    );
    let res = file_app(
        dir.path().join("blob"),
        FileOptions::new()
            .as_attachment(true)
            .download_name("data.json")
            .mimetype("application/vnd.api+json"),
    )
    .get("/")
    .send();
    assert_eq!(
        res.header("content-disposition"),
        Some("attachment; filename=data.json")
    );
    assert_eq!(res.header("content-type"), Some("application/vnd.api+json"));
}

#[test]
fn send_file_cache_options() {
    let dir = fixture();
    let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let res = file_app(
        dir.path().join("blob"),
        FileOptions::new()
            .max_age(3600)
            .last_modified(t)
            .etag_value("v42"),
    )
    .get("/")
    .send();
    assert_eq!(res.header("cache-control"), Some("public, max-age=3600"));
    assert!(res.header("expires").is_some());
    assert_eq!(
        res.header("last-modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(res.header("etag"), Some("\"v42\""));

    let res = file_app(
        dir.path().join("blob"),
        FileOptions::new().max_age(0).etag(false),
    )
    .get("/")
    .send();
    assert_eq!(res.header("cache-control"), Some("no-cache, max-age=0"));
    assert_eq!(res.header("etag"), None);
}

#[test]
fn send_file_answers_conditional_requests() {
    let dir = fixture();
    let client = file_app(dir.path().join("blob"), FileOptions::new());
    let first = client.get("/").send();
    let etag = first.header("etag").unwrap().to_owned();
    let modified = first.header("last-modified").unwrap().to_owned();

    assert_eq!(
        client
            .get("/")
            .header("if-none-match", &etag)
            .send()
            .status(),
        304
    );
    assert_eq!(
        client
            .get("/")
            .header("if-none-match", "\"other\"")
            .send()
            .status(),
        200
    );
    assert_eq!(
        client
            .get("/")
            .header("if-modified-since", &modified)
            .send()
            .status(),
        304
    );
    assert_eq!(
        client
            .get("/")
            .header("if-match", "\"other\"")
            .send()
            .status(),
        412
    );
    assert_eq!(
        client.get("/").header("if-match", &etag).send().status(),
        200
    );

    let res = client.get("/").header("range", "bytes=2-5").send();
    assert_eq!(res.status(), 206);
    assert_eq!(res.text(), "2345");
    assert_eq!(res.header("content-range"), Some("bytes 2-5/10"));
    assert_eq!(res.header("content-length"), Some("4"));
    let res = client.get("/").header("range", "bytes=-3").send();
    assert_eq!(res.text(), "789");
    let res = client.get("/").header("range", "bytes=10-").send();
    assert_eq!(res.status(), 416);
    assert_eq!(res.header("content-range"), Some("bytes */10"));
    // If-Range with a stale tag: the whole file.
    let res = client
        .get("/")
        .header("range", "bytes=2-5")
        .header("if-range", "\"stale\"")
        .send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "0123456789");

    let no_conditional = file_app(
        dir.path().join("blob"),
        FileOptions::new().conditional(false),
    );
    assert_eq!(
        no_conditional
            .get("/")
            .header("if-none-match", &etag)
            .send()
            .status(),
        200
    );
}

#[test]
fn send_file_keeps_file_bodies_and_narrows_ranges_without_reading() {
    let dir = fixture();
    let path = dir.path().join("blob");
    let request = Request::new(
        EnvironBuilder::new("GET", "/")
            .header("range", "bytes=3-4")
            .build(),
    );
    let res = send_file(&path, &request).unwrap();
    match res.body() {
        Body::File(f) => {
            assert_eq!(f.offset(), 3);
            assert_eq!(f.len(), 2);
        }
        other => panic!("expected a file body, got {other:?}"),
    }
    let request = Request::new(EnvironBuilder::new("GET", "/").build());
    assert!(matches!(
        send_file(&path, &request).unwrap().body(),
        Body::File(_)
    ));
}

#[test]
fn send_file_head_sends_headers_only() {
    let dir = fixture();
    let request = Request::new(EnvironBuilder::new("HEAD", "/").build());
    let res = send_file(dir.path().join("report.csv"), &request).unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.content_length(), Some(8));
    assert!(res.body().is_empty());
}

#[test]
fn send_file_missing_or_directory_is_404() {
    let dir = fixture();
    let request = Request::new(EnvironBuilder::new("GET", "/").build());
    assert_eq!(
        send_file(dir.path().join("nope"), &request)
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        send_file(dir.path().join("sub"), &request)
            .unwrap_err()
            .status(),
        404
    );
}

fn directory_app(dir: &Path) -> Client {
    let dir = dir.to_path_buf();
    Client::new(move |environ: Environ| -> Response {
        let request = Request::new(environ);
        let name = request.path().trim_start_matches("/files/").to_owned();
        send_from_directory(&dir, &name, &request).unwrap_or_else(|e| e.into_response())
    })
}

#[test]
fn send_from_directory_serves_inside_and_refuses_outside() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("secret.txt"), "TOP SECRET").unwrap();
    let inner = outer.path().join("public");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(inner.join("ok.txt"), "fine").unwrap();
    std::fs::create_dir(inner.join("sub")).unwrap();
    std::fs::write(inner.join("sub/inner.txt"), "inner").unwrap();
    let client = directory_app(&inner);

    assert_eq!(client.get("/files/ok.txt").send().text(), "fine");
    assert_eq!(client.get("/files/sub/inner.txt").send().text(), "inner");
    assert_eq!(client.get("/files/sub/../ok.txt").send().text(), "fine");
    for bad in [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/sub/../../secret.txt",
        "/files/..%2fsecret.txt",
        "/files//etc/passwd",
        "/files/..\\secret.txt",
        "/files/sub",
        "/files/missing.txt",
        "/files/aux.txt",
        "/files/sub/con",
        "/files/ok.txt%00",
        "/files/ok.txt/x",
    ] {
        let res = client.get(bad).send();
        assert_eq!(res.status(), 404, "{bad}");
        assert!(!res.text().contains("TOP SECRET"), "{bad}");
    }
    // A file named as if it were a directory is not that file (ENOTDIR, as nginx).
    for path in [
        "/files/ok.txt/",
        "/files/ok.txt/.",
        "/files/ok.txt/./",
        "/files/ok.txt/x/..",
        "/files/sub/inner.txt/",
    ] {
        let res = client.get(path).send();
        assert_eq!(res.status(), 404, "{path}");
        assert!(!["fine", "inner"].contains(&res.text().as_str()), "{path}");
    }
}

#[test]
fn safe_join_never_escapes_on_random_input() {
    use std::path::Component;

    let pieces = [
        "..", ".", "/", "//", "\\", "%2e", "%2E", "%2f", "%5c", "%00", "a", "b.txt", "con", "Aux",
        ":", "C:", "\0", " ", "~", "ü", "nul.x", "..%2f", "\n",
    ];
    let mut rng = common::TestRng::seed_from_u64(0x5eed);
    let base = Path::new("/srv/base");
    for _ in 0..20_000 {
        let n = rng.gen_range(1..8);
        let untrusted: String = (0..n)
            .map(|_| pieces[rng.gen_range(0..pieces.len())])
            .collect();
        let Some(joined) = safe_join(base, &untrusted) else {
            continue;
        };
        let rest = joined
            .strip_prefix(base)
            .unwrap_or_else(|_| panic!("{untrusted:?} joined to {joined:?}, outside the base"));
        for component in rest.components() {
            assert!(
                matches!(component, Component::Normal(_)),
                "{untrusted:?} gave {joined:?}"
            );
            let s = component.as_os_str().to_string_lossy();
            assert!(
                !s.contains(['\\', '\0', '\n'])
                    && !s.to_ascii_lowercase().contains("%2f")
                    && !zeug::security::is_windows_device_name(&s),
                "{untrusted:?} gave {joined:?}"
            );
        }
    }
}

/// `Content-Disposition` values of Werkzeug 3.1's `send_file(..., download_name=NAME)`
/// (inline; `as_attachment=True` gives the same with `attachment`). zeug differs only
/// where it is stricter: control characters are dropped, and an empty ASCII fallback is
/// left out rather than sent as `filename=""`.
const WERKZEUG_DISPOSITIONS: &[(&str, &str)] = &[
    ("report.pdf", "inline; filename=report.pdf"),
    ("my report.pdf", "inline; filename=\"my report.pdf\""),
    ("a\"b.txt", "inline; filename=\"a\\\"b.txt\""),
    (
        "na\u{ef}ve caf\u{e9}.txt",
        "inline; filename=\"naive cafe.txt\"; filename*=UTF-8''na%C3%AFve%20caf%C3%A9.txt",
    ),
    (
        "\u{65e5}\u{672c}\u{8a9e}.txt",
        "inline; filename=.txt; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.txt",
    ),
    (
        "\u{20ac} rates.csv",
        "inline; filename=\" rates.csv\"; filename*=UTF-8''%E2%82%AC%20rates.csv",
    ),
    ("a;b=c.txt", "inline; filename=\"a;b=c.txt\""),
    ("back\\slash.txt", "inline; filename=\"back\\\\slash.txt\""),
    ("x,y.txt", "inline; filename=\"x,y.txt\""),
    ("it's.txt", "inline; filename=it's.txt"),
    ("a=b", "inline; filename=\"a=b\""),
];

#[test]
fn content_disposition_matches_werkzeug() {
    for (name, expected) in WERKZEUG_DISPOSITIONS {
        assert_eq!(
            zeug::utils::content_disposition("inline", name),
            *expected,
            "{name:?}"
        );
        assert_eq!(
            zeug::utils::content_disposition("attachment", name),
            expected.replacen("inline", "attachment", 1),
            "{name:?}"
        );
    }
}
