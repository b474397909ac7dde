//! Fuzzes the multipart parser: arbitrary bodies, boundaries, read sizes and spool
//! thresholds must never panic, and every temporary file must be gone once the parsed
//! form (or the error) is dropped.
//!
//! Input layout: byte 0 = boundary length, byte 1 = read size, byte 2 = spool threshold
//! (its top bit: files share one spool file), then the boundary, then the body.
#![no_main]

use std::io::{self, Read};

use libfuzzer_sys::fuzz_target;
use zeug::datastructures::FileStorage;
use zeug::formparser::{parse_form, Limits, MultipartReader};

struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let blen = data[0] as usize % 80;
    let step = data[1] as usize % 64 + 1;
    let threshold = data[2] as u64 % 32;
    let rest = &data[3..];
    if rest.len() < blen {
        return;
    }
    let (boundary, body) = rest.split_at(blen);
    let boundary = String::from_utf8_lossy(boundary).into_owned();
    let before = open_fds();
    let limits = Limits {
        max_content_length: Some(1 << 20),
        max_form_memory_size: Some(2048),
        max_form_parts: Some(64),
    };

    // The whole path a request takes, with the boundary in the Content-Type.
    let content_type = format!("multipart/form-data; boundary=\"{}\"", boundary.replace('"', ""));
    let _ = parse_form(
        &mut Trickle { data: body, step },
        &content_type,
        Some(body.len() as u64),
        &limits,
    );

    // The reader with tiny spool thresholds, so files go to temporary files.
    if let Ok(mut reader) = MultipartReader::new(Trickle { data: body, step }, &boundary) {
        reader.set_limits(&limits);
        let mut files = Vec::new();
        let mut spool = FileStorage::spool();
        let shared = data[2] & 0x80 != 0;
        while let Ok(Some(mut part)) = reader.next_part() {
            let headers = part.take_headers();
            let (name, filename, ct) = (part.name().unwrap_or(""), part.filename(), part.content_type());
            let mut builder = if shared {
                FileStorage::builder_in(&mut spool, name, filename, ct, headers, threshold)
            } else {
                FileStorage::builder(name, filename, ct, headers, threshold)
            };
            let mut failed = false;
            loop {
                match reader.read_chunk() {
                    Ok(Some(chunk)) => {
                        assert!(!chunk.is_empty());
                        builder.write_chunk(chunk).unwrap();
                    }
                    Ok(None) => break,
                    Err(e) => {
                        assert!(e.status().is_client_error());
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                break;
            }
            let f = builder.finish().unwrap();
            assert_eq!(f.to_vec().unwrap().len() as u64, f.size());
            files.push(f);
        }
    }
    assert_eq!(open_fds(), before, "a temporary file outlived its FileStorage");
});
