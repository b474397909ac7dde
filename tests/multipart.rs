//! Multipart forms through `Request::form()` / `Request::files()`: real browser captures,
//! limits, Werkzeug's advisories as regression tests, and temporary-file hygiene.
//!
//! A counting global allocator measures peak heap growth, and `/proc/self/fd` shows
//! whether temporary files were closed; both are process-wide, so every test here holds
//! one lock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use zeug::environ::Input;
use zeug::formparser::Limits;
use zeug::test::EnvironBuilder;
use zeug::{Environ, HttpException, Request};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` and returns its result with the peak heap growth it caused.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

const MIB: usize = 1024 * 1024;

/// A generated body: a prefix, `len` bytes of a repeating pattern, a suffix; never held
/// in memory whole.
struct Generated {
    prefix: Vec<u8>,
    pattern: Vec<u8>,
    len: usize,
    suffix: Vec<u8>,
    at: usize,
}

impl Generated {
    fn new(prefix: &[u8], pattern: &[u8], len: usize, suffix: &[u8]) -> Self {
        Generated {
            prefix: prefix.to_vec(),
            pattern: pattern.to_vec(),
            len,
            suffix: suffix.to_vec(),
            at: 0,
        }
    }

    fn total(&self) -> usize {
        self.prefix.len() + self.len + self.suffix.len()
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() && self.at < self.total() {
            let b = if self.at < self.prefix.len() {
                self.prefix[self.at]
            } else if self.at < self.prefix.len() + self.len {
                let k = self.at - self.prefix.len();
                self.pattern[k % self.pattern.len()]
            } else {
                self.suffix[self.at - self.prefix.len() - self.len]
            };
            buf[n] = b;
            n += 1;
            self.at += 1;
        }
        Ok(n)
    }
}

fn streaming_environ(boundary: &str, body: Generated) -> Environ {
    let len = body.total();
    let mut env = EnvironBuilder::new("POST", "/upload")
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .header("content-length", &len.to_string())
        .build();
    env.input = Input::new(body);
    env
}

fn request(content_type: &str, body: impl Into<bytes::Bytes>) -> Request {
    Request::new(
        EnvironBuilder::new("POST", "/")
            .header("content-type", content_type)
            .body(body)
            .build(),
    )
}

fn status(result: Result<impl Sized, HttpException>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(e) => e.status().as_u16(),
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/multipart")
}

// ---------------------------------------------------------------------------------------
// Real browsers

/// `(folder, boundary, [(filename, content type); 2], text field)`.
type Capture = (
    &'static str,
    &'static str,
    [(&'static str, &'static str); 2],
    &'static str,
);

/// The table of `tests/fixtures/multipart/README.md`, row by row.
const BROWSERS: &[Capture] = &[
    (
        "firefox3-2png1txt",
        "---------------------------186454651713519341951581030105",
        [
            ("anchor.png", "image/png"),
            ("application_edit.png", "image/png"),
        ],
        "example text",
    ),
    (
        "firefox3-2pnglongtext",
        "---------------------------14904044739787191031754711748",
        [("accept.png", "image/png"), ("add.png", "image/png")],
        "--long text\r\n--with boundary\r\n--lookalikes--",
    ),
    (
        "opera8-2png1txt",
        "----------zEO9jQKmLc2Cq88c23Dx19",
        [
            ("arrow_branch.png", "image/png"),
            ("award_star_bronze_1.png", "image/png"),
        ],
        "blafasel öäü",
    ),
    (
        "webkit3-2png1txt",
        "----WebKitFormBoundaryjdSFhcARk8fyGNy6",
        [("gtk-apply.png", "image/png"), ("gtk-no.png", "image/png")],
        "this is another text with ümläüts",
    ),
    (
        "ie6-2png1txt",
        "---------------------------7d91b03a20128",
        [("file1.png", "image/x-png"), ("file2.png", "image/x-png")],
        "ie6 sucks :-/",
    ),
];

#[test]
fn browser_captures_parse_exactly() {
    let _g = lock();
    for (folder, boundary, files, text) in BROWSERS {
        let dir = fixtures().join(folder);
        let body = std::fs::read(dir.join("request.http")).unwrap();
        let req = request(
            &format!("multipart/form-data; boundary=\"{boundary}\""),
            body,
        );
        let form = req.form().unwrap();
        assert_eq!(form.len(), 1, "{folder}");
        assert_eq!(form.get("text"), Some(*text), "{folder}");
        let uploaded = req.files().unwrap();
        assert_eq!(uploaded.len(), 2, "{folder}");
        for (i, (filename, content_type)) in files.iter().enumerate() {
            let field = format!("file{}", i + 1);
            let f = uploaded.get_value(&field).unwrap();
            assert_eq!(f.name(), field);
            assert_eq!(f.filename(), Some(*filename), "{folder}");
            assert_eq!(f.content_type(), Some(*content_type), "{folder}");
            let expected = std::fs::read(dir.join(format!("{field}.png"))).unwrap();
            assert_eq!(f.size(), expected.len() as u64, "{folder}");
            assert_eq!(f.to_vec().unwrap(), expected, "{folder} {field}");
            assert!(f.headers().contains_key("content-disposition"));
        }
    }
}

#[test]
fn browser_captures_parse_when_read_a_byte_at_a_time() {
    let _g = lock();
    struct OneByte(io::Cursor<Vec<u8>>);
    impl Read for OneByte {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }
    for (folder, boundary, _, text) in BROWSERS {
        let body = std::fs::read(fixtures().join(folder).join("request.http")).unwrap();
        let png = std::fs::read(fixtures().join(folder).join("file2.png")).unwrap();
        let mut env = EnvironBuilder::new("POST", "/")
            .header(
                "content-type",
                &format!("multipart/form-data; boundary={boundary}"),
            )
            .header("content-length", &body.len().to_string())
            .build();
        env.input = Input::new(OneByte(io::Cursor::new(body)));
        let req = Request::new(env);
        assert_eq!(req.form().unwrap().get("text"), Some(*text));
        let f = req.files().unwrap().get_value("file2").unwrap();
        assert_eq!(f.to_vec().unwrap(), png);
    }
}

#[test]
fn ie7_full_path_request_yields_the_bare_filename() {
    let _g = lock();
    let body = std::fs::read(fixtures().join("ie7_full_path_request.http")).unwrap();
    let req = request(
        "multipart/form-data; boundary=\"---------------------------7da36d1b4a0164\"",
        body,
    );
    let files = req.files().unwrap();
    let f = files.get_value("cb_file_upload_multiple").unwrap();
    assert_eq!(
        f.filename(),
        Some("Sellersburg Town Council Meeting 02-22-2010doc.doc")
    );
    assert_eq!(f.content_type(), Some("application/msword"));
    assert!(f.to_vec().unwrap().starts_with(b"\xd0\xcf\x11\xe0"));
    let form = req.form().unwrap();
    assert_eq!(form.get("title"), Some("2010"));
    assert_eq!(form.get("submit"), Some("Submit"));
}

#[test]
fn ie_style_full_windows_paths_become_bare_names() {
    let _g = lock();
    let body = "--b\r\nContent-Disposition: form-data; name=\"f\"; \
                filename=\"C:\\Documents and Settings\\Owner\\Desktop\\minutes.doc\"\r\n\r\n\
                x\r\n--b\r\nContent-Disposition: form-data; name=\"g\"; \
                filename=\"\\\\fileserver\\share\\plan.txt\"\r\n\r\ny\r\n--b--\r\n";
    let req = request("multipart/form-data; boundary=b", body);
    let files = req.files().unwrap();
    assert_eq!(
        files.get_value("f").unwrap().filename(),
        Some("minutes.doc")
    );
    assert_eq!(files.get_value("g").unwrap().filename(), Some("plan.txt"));
}

// ---------------------------------------------------------------------------------------
// What browsers and clients send

#[test]
fn charset_field_rfc5987_filenames_quoted_names_and_missing_content_types() {
    let _g = lock();
    let body = b"preamble to ignore\r\n\
        --zz\r\nContent-Disposition: form-data; name=\"greeting\"\r\n\r\ngr\xfc\xdf dich\r\n\
        --zz\r\nContent-Disposition: form-data; name=\"_charset_\"\r\n\r\niso-8859-1\r\n\
        --zz\r\nContent-Disposition: form-data; name=\"explicit\"\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\n\xc3\xa9t\xc3\xa9\r\n\
        --zz\r\nContent-Disposition: form-data; name=\"say \\\"hi\\\"\"\r\n\r\nquoted\r\n\
        --zz\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"rates.txt\"; \
        filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\nno content type\r\n\
        --zz\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n\
        Content-Type: application/octet-stream\r\n\r\n\r\n\
        --zz--\r\nepilogue";
    let req = request("multipart/form-data; boundary=zz", body.to_vec());
    let form = req.form().unwrap();
    assert_eq!(form.get("greeting"), Some("grüß dich"));
    assert_eq!(form.get("explicit"), Some("été"));
    assert_eq!(form.get("say \"hi\""), Some("quoted"));
    assert_eq!(form.get("_charset_"), Some("iso-8859-1"));
    let files = req.files().unwrap();
    let doc = files.get_value("doc").unwrap();
    assert_eq!(doc.filename(), Some("€ rates.txt"));
    assert_eq!(doc.content_type(), None);
    assert_eq!(doc.to_vec().unwrap(), b"no content type");
    let empty = files.get_value("empty").unwrap();
    assert_eq!((empty.filename(), empty.size()), (Some(""), 0));
}

#[test]
fn browser_escaped_quotes_and_line_breaks_in_names_are_decoded() {
    let _g = lock();
    // Chrome and Firefox (HTML standard, multipart/form-data encoding) send `"`, CR and
    // LF in names and file names as %22, %0D, %0A; a literal `%` is sent unchanged.
    let body = "--B\r\nContent-Disposition: form-data; name=\"a%22b\"\r\n\r\nfield\r\n\
        --B\r\nContent-Disposition: form-data; name=\"up%0D%0Aload\"; filename=\"my%22file%0A.txt\"\r\n\
        Content-Type: text/plain\r\n\r\ncontent\r\n\
        --B\r\nContent-Disposition: form-data; name=\"100%25\"; filename=\"50%.txt\"\r\n\r\nx\r\n\
        --B--\r\n";
    let req = request("multipart/form-data; boundary=B", body);
    assert_eq!(req.form().unwrap().get("a\"b"), Some("field"));
    let files = req.files().unwrap();
    let up = files.get_value("up\r\nload").unwrap();
    assert_eq!(up.filename(), Some("my\"file\n.txt"));
    assert_eq!(up.to_vec().unwrap(), b"content");
    let literal = files.get_value("100%25").unwrap();
    assert_eq!(literal.filename(), Some("50%.txt"));

    // zeug's own test client encodes the same way, so names round-trip through it.
    let env = EnvironBuilder::new("POST", "/")
        .form(&[("say \"hi\"", "v")])
        .file("f\"\r\n", "a\"b\r\n.txt", "data", "text/plain")
        .build();
    let req = Request::new(env);
    assert_eq!(req.form().unwrap().get("say \"hi\""), Some("v"));
    let files = req.files().unwrap();
    let f = files.get_value("f\"\r\n").unwrap();
    assert_eq!(f.filename(), Some("a\"b\r\n.txt"));
}

#[test]
fn same_field_several_times_keeps_order() {
    let _g = lock();
    let body = "--b\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\nrust\r\n\
                --b\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\nweb\r\n\
                --b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"1\"\r\n\r\none\r\n\
                --b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"2\"\r\n\r\ntwo\r\n--b--";
    let req = request("multipart/form-data; boundary=b", body);
    let tags: Vec<&zeug::datastructures::Text> = req.form().unwrap().get_all("tag").collect();
    assert_eq!(tags, ["rust", "web"]);
    let names: Vec<_> = req
        .files()
        .unwrap()
        .get_all("f")
        .map(|f| f.filename().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["1", "2"]);
    // Query arguments and form fields together, as Werkzeug's `values`.
    assert_eq!(req.values().unwrap().get_all("tag").count(), 2);
}

#[test]
fn malformed_bodies_are_400() {
    let _g = lock();
    let cases: &[(&str, &str)] = &[
        ("multipart/form-data", "--b\r\n\r\nx\r\n--b--"),
        ("multipart/form-data; boundary=b", "no delimiter here"),
        (
            "multipart/form-data; boundary=b",
            "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nended early",
        ),
        (
            "multipart/form-data; boundary=b",
            "--b\r\nNot a header\r\n\r\nx\r\n--b--",
        ),
    ];
    for (ct, body) in cases {
        assert_eq!(status(request(ct, *body).form()), 400, "{ct} {body:?}");
    }
}

#[test]
fn body_shorter_than_its_content_length_is_400() {
    let _g = lock();
    let body = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--b--\r\n";
    let mut env = EnvironBuilder::new("POST", "/")
        .header("content-type", "multipart/form-data; boundary=b")
        .header("content-length", "1000")
        .build();
    env.input = Input::from_bytes(&body.as_bytes()[..30]);
    assert_eq!(status(Request::new(env).form()), 400);
}

// ---------------------------------------------------------------------------------------
// Limits

fn fields_body(n: usize, value: &str) -> String {
    let mut body = String::new();
    for i in 0..n {
        body.push_str(&format!(
            "--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str("--b--\r\n");
    body
}

#[test]
fn limits_per_app_through_environ_extensions() {
    let _g = lock();
    let body = fields_body(3, "0123456789");
    let mut env = EnvironBuilder::new("POST", "/")
        .header("content-type", "multipart/form-data; boundary=b")
        .body(body.clone())
        .build();
    env.extensions.insert(Limits {
        max_content_length: Some(50),
        ..Limits::default()
    });
    assert_eq!(status(Request::new(env).form()), 413);

    // Without Content-Length (a chunked upload) the count of bytes read is what stops it.
    let mut env = EnvironBuilder::new("POST", "/")
        .header("content-type", "multipart/form-data; boundary=b")
        .build();
    env.input = Input::new(io::Cursor::new(body.clone().into_bytes()));
    env.extensions.insert(Limits {
        max_content_length: Some(50),
        ..Limits::default()
    });
    assert_eq!(status(Request::new(env).form()), 413);

    let mut env = EnvironBuilder::new("POST", "/")
        .header("content-type", "multipart/form-data; boundary=b")
        .body(body)
        .build();
    env.extensions.insert(Limits {
        max_form_parts: Some(2),
        ..Limits::default()
    });
    assert_eq!(status(Request::new(env).files()), 413);
}

#[test]
fn limits_per_request() {
    let _g = lock();
    let body = fields_body(4, &"v".repeat(100));
    let mut req = request("multipart/form-data; boundary=b", body.clone());
    req.set_limits(Limits {
        max_form_memory_size: Some(300),
        ..Limits::default()
    });
    assert_eq!(status(req.form()), 413);
    let mut req = request("multipart/form-data; boundary=b", body);
    req.set_limits(Limits {
        max_form_memory_size: Some(1000),
        ..Limits::default()
    });
    assert_eq!(req.form().unwrap().len(), 4);
    // Files do not count against max_form_memory_size.
    let big = format!(
        "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n{}\r\n--b--",
        "x".repeat(10_000)
    );
    let mut req = request("multipart/form-data; boundary=b", big);
    req.set_limits(Limits {
        max_form_memory_size: Some(1000),
        ..Limits::default()
    });
    assert_eq!(req.files().unwrap().get_value("f").unwrap().size(), 10_000);
}

#[test]
fn default_part_limit_is_1000() {
    let _g = lock();
    let ok = request("multipart/form-data; boundary=b", fields_body(1000, "v"));
    assert_eq!(ok.form().unwrap().len(), 1000);
    let over = request("multipart/form-data; boundary=b", fields_body(1001, "v"));
    assert_eq!(status(over.form()), 413);
}

// ---------------------------------------------------------------------------------------
// Werkzeug's advisories

/// CVE-2023-25577: a body of very many tiny parts exhausted CPU and memory.
#[test]
fn many_tiny_parts_are_refused_quickly() {
    let _g = lock();
    let part = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nx\r\n";
    let n = 1_000_000;
    let env = streaming_environ("b", Generated::new(b"", part, part.len() * n, b"--b--"));
    let start = Instant::now();
    let (result, peak) = peak_growth(|| status(Request::new(env).form()));
    assert_eq!(result, 413);
    assert!(peak < 2 * MIB, "peak heap growth {peak}");
    assert!(start.elapsed() < Duration::from_secs(20));
}

/// CVE-2023-46136: a file part whose data starts with CR or LF made parsing quadratic.
#[test]
fn huge_part_starting_with_cr_or_lf_parses_in_bounded_memory() {
    let _g = lock();
    for lead in [&b"\r"[..], b"\n", b"\r\n"] {
        let mut prefix =
            b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n\r\n"
                .to_vec();
        prefix.extend_from_slice(lead);
        let len = 8 * MIB;
        let env = streaming_environ("b", Generated::new(&prefix, b"x", len, b"\r\n--b--\r\n"));
        let start = Instant::now();
        let (size, peak) = peak_growth(|| {
            let req = Request::new(env);
            let files = req.files().unwrap();
            let f = files.get_value("f").unwrap();
            assert!(f.is_spooled());
            f.size()
        });
        assert_eq!(size, (lead.len() + len) as u64);
        assert!(peak < 2 * MIB, "peak heap growth {peak}");
        assert!(start.elapsed() < Duration::from_secs(20));
    }
}

/// The same attack with a body full of `\r\n--` lookalikes of the boundary.
#[test]
fn boundary_lookalikes_stream_through() {
    let _g = lock();
    let prefix =
        b"--realboundary\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n\r\n";
    let pattern = b"\r\n--realboundar\r\n--\r\n-\r";
    let len = 4 * MIB;
    let env = streaming_environ(
        "realboundary",
        Generated::new(prefix, pattern, len, b"\r\n--realboundary--"),
    );
    let (size, peak) = peak_growth(|| {
        let req = Request::new(env);
        let files = req.files().unwrap();
        files.get_value("f").unwrap().size()
    });
    assert_eq!(size, (2 + len) as u64);
    assert!(peak < 2 * MIB, "peak heap growth {peak}");
}

/// CVE-2024-49767: a huge text field was buffered whole.
#[test]
fn huge_text_field_is_413_without_buffering_it() {
    let _g = lock();
    let prefix = b"--b\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\n";
    let env = streaming_environ("b", Generated::new(prefix, b"a", 64 * MIB, b"\r\n--b--"));
    let start = Instant::now();
    let (result, peak) = peak_growth(|| status(Request::new(env).form()));
    assert_eq!(result, 413);
    assert!(peak < 2 * MIB, "peak heap growth {peak}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// Part headers: too many, one huge header, or an endless header block.
#[test]
fn many_or_huge_part_headers_are_413() {
    let _g = lock();
    let many = format!(
        "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n{}\r\nx\r\n--b--",
        "X-Filler: 1\r\n".repeat(100)
    );
    assert_eq!(
        status(request("multipart/form-data; boundary=b", many).form()),
        413
    );
    let huge = Generated::new(
        b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Huge: ",
        b"h",
        256 * MIB,
        b"\r\n\r\nx\r\n--b--",
    );
    let start = Instant::now();
    let (result, peak) = peak_growth(|| status(Request::new(streaming_environ("b", huge)).form()));
    assert_eq!(result, 413);
    assert!(peak < MIB, "peak heap growth {peak}");
    assert!(start.elapsed() < Duration::from_secs(5));
    let endless = Generated::new(b"--b\r\n", b"X-A: 1\r\n", 256 * MIB, b"");
    let (result, peak) =
        peak_growth(|| status(Request::new(streaming_environ("b", endless)).form()));
    assert_eq!(result, 413);
    assert!(peak < MIB, "peak heap growth {peak}");
    // Many parts each with headers near the limit add up against max_form_memory_size.
    let header = format!("X-Pad: {}\r\n", "p".repeat(10_000));
    let part = format!("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n{header}\r\nx\r\n");
    let env = streaming_environ(
        "b",
        Generated::new(b"", part.as_bytes(), part.len() * 200, b"--b--"),
    );
    assert_eq!(status(Request::new(env).form()), 413);
}

// ---------------------------------------------------------------------------------------
// Temporary files

#[test]
fn spooled_files_are_removed_on_drop_and_on_errors() {
    let _g = lock();
    let before = open_fds();
    {
        let prefix = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n";
        let env = streaming_environ("b", Generated::new(prefix, b"0123456789", 2 * MIB, b"\r\n--b\r\nContent-Disposition: form-data; name=\"g\"; filename=\"b\"\r\n\r\nsmall\r\n--b--"));
        let req = Request::new(env);
        let files = req.files().unwrap();
        assert!(files.get_value("f").unwrap().is_spooled());
        assert!(!files.get_value("g").unwrap().is_spooled());
        assert_eq!(open_fds(), before + 1);
        let dir = tempfile::tempdir().unwrap();
        files
            .get_value("f")
            .unwrap()
            .save(dir.path().join("a"))
            .unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("a")).unwrap().len(),
            2 * MIB as u64
        );
    }
    assert_eq!(open_fds(), before, "temporary file left open after drop");
    // Truncated after one spooled file and inside a second: both are gone.
    let prefix = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n";
    let mut suffix =
        b"\r\n--b\r\nContent-Disposition: form-data; name=\"g\"; filename=\"b\"\r\n\r\n".to_vec();
    suffix.extend(std::iter::repeat_n(b'z', MIB));
    let env = streaming_environ("b", Generated::new(prefix, b"y", MIB, &suffix));
    assert_eq!(status(Request::new(env).files()), 400);
    assert_eq!(
        open_fds(),
        before,
        "temporary file left open after an error"
    );
    // Over a limit halfway through a spooled upload.
    let mut env = streaming_environ("b", Generated::new(prefix, b"y", 4 * MIB, b"\r\n--b--"));
    env.headers.remove("content-length");
    env.extensions.insert(Limits {
        max_content_length: Some(3 * MIB as u64),
        ..Limits::default()
    });
    assert_eq!(status(Request::new(env).files()), 413);
    assert_eq!(open_fds(), before, "temporary file left open after a 413");
}

#[test]
fn small_files_stay_in_memory_until_their_total_is_large() {
    let _g = lock();
    let mut body = String::new();
    for i in 0..20 {
        body.push_str(&format!(
            "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{i}\"\r\n\r\n{}\r\n",
            "d".repeat(400 * 1024)
        ));
    }
    body.push_str("--b--");
    let before = open_fds();
    let req = request("multipart/form-data; boundary=b", body);
    let files = req.files().unwrap();
    let spooled = files.get_all("f").filter(|f| f.is_spooled()).count();
    assert!(spooled >= 10, "{spooled} of 20 spooled");
    // The spooled files share one temporary file.
    assert_eq!(open_fds(), before + 1);
    for (i, f) in files.get_all("f").enumerate() {
        assert_eq!(f.filename(), Some(i.to_string().as_str()));
        assert_eq!(f.to_vec().unwrap(), "d".repeat(400 * 1024).as_bytes());
    }
    drop(req);
    assert_eq!(open_fds(), before);
}

#[test]
fn many_spooled_files_share_one_descriptor_and_keep_their_bytes() {
    let _g = lock();
    let mut body = Vec::new();
    let mut expected = Vec::new();
    for i in 0..12u8 {
        let data: Vec<u8> = (0..(700 * 1024 + i as usize * 4099))
            .map(|k| (k as u8).wrapping_mul(31).wrapping_add(i))
            .collect();
        body.extend_from_slice(
            format!("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{i}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\r\n");
        expected.push(data);
    }
    body.extend_from_slice(b"--b--");
    let before = open_fds();
    let req = request("multipart/form-data; boundary=b", body);
    let files = req.files().unwrap();
    assert_eq!(open_fds(), before + 1);
    let got: Vec<Vec<u8>> = files.get_all("f").map(|f| f.to_vec().unwrap()).collect();
    assert_eq!(got.len(), 12);
    for (g, e) in got.iter().zip(&expected) {
        assert!(g == e);
    }
    // Saving reads each file's own region.
    let dir = tempfile::tempdir().unwrap();
    let third = files.get_all("f").nth(3).unwrap();
    third.save(dir.path().join("3")).unwrap();
    assert!(std::fs::read(dir.path().join("3")).unwrap() == expected[3]);
    drop(req);
    assert_eq!(open_fds(), before);
}

// ---------------------------------------------------------------------------------------
// Streaming consistency: the same body read in pieces of any size parses the same.

/// `Ok(parts as (name, filename, bytes))` or `Err(status)`.
type Outcome = Result<Vec<(Option<String>, Option<String>, Vec<u8>)>, u16>;

fn outcome(body: &[u8], boundary: &str, step: usize) -> Outcome {
    struct Pieces<'a>(&'a [u8], usize);
    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let run = || -> Result<_, HttpException> {
        let mut reader = zeug::formparser::MultipartReader::new(Pieces(body, step), boundary)?;
        let mut parts = Vec::new();
        while let Some(part) = reader.next_part()? {
            let mut data = Vec::new();
            while let Some(chunk) = reader.read_chunk()? {
                data.extend_from_slice(chunk);
            }
            parts.push((
                part.name().map(str::to_owned),
                part.filename().map(str::to_owned),
                data,
            ));
        }
        Ok(parts)
    };
    run().map_err(|e| e.status().as_u16())
}

#[test]
fn random_bodies_parse_the_same_at_every_read_size() {
    let _g = lock();
    let boundary = "bnd";
    let fragments: &[&[u8]] = &[
        b"\r\n",
        b"\n",
        b"\r",
        b"--",
        b"--bnd",
        b"--bnd\r\n",
        b"\r\n--bnd\r\n",
        b"\r\n--bnd--",
        b"--bn",
        b"Content-Disposition: form-data; name=\"a\"\r\n",
        b"Content-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n",
        b"Content-Type: text/plain\r\n",
        b"\r\n\r\n",
        b"data",
        b" \t",
        b"\x00\xff",
    ];
    let mut state = 0x2545_F491u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as usize
    };
    let mut ok = 0;
    for _ in 0..3000 {
        let mut body = Vec::new();
        // Start like a real body most of the time, so parts get parsed.
        if next() % 4 != 0 {
            body.extend_from_slice(b"--bnd\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n");
        }
        for _ in 0..(next() % 30) {
            body.extend_from_slice(fragments[next() % fragments.len()]);
        }
        let reference = outcome(&body, boundary, 1 << 20);
        if reference.is_ok() {
            ok += 1;
        }
        for step in [1, 2, 3, 5, 8, 13] {
            assert_eq!(
                outcome(&body, boundary, step),
                reference,
                "step {step}, body {:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }
    assert!(ok > 100, "only {ok} random bodies parsed");
}
