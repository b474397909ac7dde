//! `examples/upload.rs`, driven through the test client: the form page, uploads saved
//! under safe names, downloads with ranges and conditional requests, and the limits.

#[path = "../examples/upload.rs"]
#[allow(dead_code)]
mod upload;

use upload::{MAX_UPLOAD, Uploads};
use zeug::test::Client;

fn app() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(Uploads::new(dir.path().join("uploads")).unwrap());
    (dir, client)
}

#[test]
fn the_page_has_a_multipart_form() {
    let (_dir, client) = app();
    let res = client.get("/").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.mimetype(), "text/html");
    let page = res.text();
    assert!(page.contains("enctype=multipart/form-data"), "{page}");
    assert!(page.contains("type=file name=file multiple"), "{page}");
    assert_eq!(client.post("/").send().status(), 405);
    assert_eq!(client.get("/upload").send().status(), 405);
    assert_eq!(client.get("/nowhere").send().status(), 404);
}

#[test]
fn uploads_are_saved_under_safe_names_and_listed() {
    let (dir, client) = app();
    let res = client
        .post("/upload")
        .file("file", "../../etc/passwd", "root:x:0:0", "text/plain")
        .file(
            "file",
            "My Photo (1).JPG",
            vec![0xFFu8, 0xD8, 0xFF, 0xE0],
            "image/jpeg",
        )
        .send();
    assert_eq!(res.status(), 303);
    assert_eq!(res.location(), Some("/"));
    let folder = dir.path().join("uploads");
    assert_eq!(
        std::fs::read(folder.join("etc_passwd")).unwrap(),
        b"root:x:0:0"
    );
    assert_eq!(
        std::fs::read(folder.join("My_Photo_1.JPG")).unwrap(),
        [0xFF, 0xD8, 0xFF, 0xE0]
    );
    assert!(!dir.path().join("etc").exists());
    let page = client.get("/").send().text();
    assert!(
        page.contains("<a href=\"/files/etc_passwd\">etc_passwd</a>"),
        "{page}"
    );
    assert!(page.contains("My_Photo_1.JPG"), "{page}");

    let res = client.get("/files/My_Photo_1.JPG").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.mimetype(), "image/jpeg");
    assert_eq!(&res.bytes()[..], [0xFF, 0xD8, 0xFF, 0xE0]);
}

#[test]
fn an_ie_style_full_path_is_saved_under_its_bare_name() {
    let (dir, client) = app();
    let body = "--b\r\nContent-Disposition: form-data; name=\"file\"; \
                filename=\"C:\\Users\\Ann\\Desktop\\minutes.txt\"\r\n\
                Content-Type: text/plain\r\n\r\nminutes\r\n--b--\r\n";
    let res = client
        .post("/upload")
        .header("content-type", "multipart/form-data; boundary=b")
        .body(body)
        .send();
    assert_eq!(res.status(), 303);
    let saved = dir.path().join("uploads").join("minutes.txt");
    assert_eq!(std::fs::read_to_string(saved).unwrap(), "minutes");
}

#[test]
fn a_large_upload_round_trips_with_ranges_and_etags() {
    let (_dir, client) = app();
    let data: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let res = client
        .post("/upload")
        .file("file", "big.bin", data.clone(), "application/octet-stream")
        .send();
    assert_eq!(res.status(), 303);

    let res = client.get("/files/big.bin").send();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().len(), data.len());
    assert!(res.bytes()[..] == data[..]);
    let etag = res.header("etag").unwrap().to_owned();

    let res = client
        .get("/files/big.bin")
        .header("range", "bytes=100-199")
        .send();
    assert_eq!(res.status(), 206);
    assert_eq!(&res.bytes()[..], &data[100..200]);

    let res = client
        .get("/files/big.bin")
        .header("if-none-match", &etag)
        .send();
    assert_eq!(res.status(), 304);
}

#[test]
fn downloads_stay_inside_the_folder() {
    let (dir, client) = app();
    std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
    for path in [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/..%2fsecret.txt",
        "/files/missing.txt",
    ] {
        assert_eq!(client.get(path).send().status(), 404, "{path}");
    }
    assert_eq!(client.post("/files/x").send().status(), 405);
}

#[test]
fn empty_uploads_and_oversized_ones_are_refused() {
    let (dir, client) = app();
    // A form submitted without choosing a file: one part with an empty file name.
    let res = client
        .post("/upload")
        .file("file", "", "", "application/octet-stream")
        .send();
    assert_eq!(res.status(), 400);
    assert!(res.text().contains("No file was uploaded."));
    // A urlencoded post has no files at all.
    let res = client.post("/upload").form(&[("file", "x")]).send();
    assert_eq!(res.status(), 400);

    let too_big = vec![b'x'; MAX_UPLOAD as usize + 1];
    let res = client
        .post("/upload")
        .file("file", "huge.bin", too_big, "application/octet-stream")
        .send();
    assert_eq!(res.status(), 413);
    assert!(!dir.path().join("uploads").join("huge.bin").exists());

    // A truncated body is a 400 and saves nothing.
    let res = client
        .post("/upload")
        .header("content-type", "multipart/form-data; boundary=b")
        .body("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.txt\"\r\n\r\npartial")
        .send();
    assert_eq!(res.status(), 400);
    assert!(!dir.path().join("uploads").join("cut.txt").exists());
}
