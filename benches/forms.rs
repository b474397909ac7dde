//! Form parsing benchmarks: `cargo bench -p zeug-bench --bench forms -- --warm-up-time 1 --measurement-time 3`.
//!
//! IDs (compared with Werkzeug by `bench/forms_vs_werkzeug.py`, which reads criterion's
//! estimates from `target/criterion/forms/*`):
//! - `forms/multipart_50mb_parse`: one 50 MiB file part read with `MultipartReader` into
//!   an in-memory sink (a `Vec` reused between iterations);
//! - `forms/multipart_50mb_spool`: the same body through `parse_multipart`, so the part is
//!   spooled to a temporary file as a real upload is;
//! - `forms/write_50mb`: a plain write of 50 MiB to a temporary file in 64 KiB blocks, the
//!   floor for the spooling figure;
//! - `forms/multipart_crlf_20mb`: a 20 MiB part starting with CR LF and full of `\r\n--`
//!   lookalikes of the boundary (CVE-2023-46136's shape), into the sink; with
//!   `forms/multipart_crlf_80mb`, the same recipe at four times the size (both beyond the
//!   L3 cache, so caching does not flatter the small one): linear time shows as four
//!   times the time;
//! - `forms/multipart_1000_fields` and `forms/urlencoded_1000`: 1000 small text fields.
//!
//! Before the benchmarks run, the peak RSS growth of spooling a 50 MiB upload streamed
//! from a generator (never whole in memory) is printed and written to
//! `target/criterion/forms/peak_rss.json`; then the spool/write and 80/20 MiB lookalike
//! ratios are measured alternately (medians of a few rounds, robust to drifting load from
//! other processes) and written to `target/criterion/forms/interleaved.json`.

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zeug::formparser::{Limits, MultipartReader, parse_form, parse_multipart};

const MIB: usize = 1024 * 1024;
const BOUNDARY: &str = "----WebKitFormBoundaryjdSFhcARk8fyGNy6";
const BLOCK: usize = 64 * 1024;

/// Deterministic incompressible bytes (xorshift64*), like an image or archive upload.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn file_part_prefix() -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes()
}

fn file_part_suffix() -> Vec<u8> {
    format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
}

fn file_body(data: &[u8]) -> Vec<u8> {
    let mut body = file_part_prefix();
    body.extend_from_slice(data);
    body.extend_from_slice(&file_part_suffix());
    body
}

/// CR LF first, then `\r\n--` followed by ever longer prefixes of the boundary.
fn lookalike_data(len: usize) -> Vec<u8> {
    let mut out = b"\r\n".to_vec();
    let b = BOUNDARY.as_bytes();
    let mut k = 0;
    while out.len() < len {
        out.extend_from_slice(b"\r\n--");
        out.extend_from_slice(&b[..k % b.len()]);
        out.extend_from_slice(b"x\r");
        k += 1;
    }
    out.truncate(len);
    out
}

fn fields_body(n: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..n {
        write!(
            body,
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"field{i}\"\r\n\r\nvalue number {i}\r\n"
        )
        .unwrap();
    }
    write!(body, "--{BOUNDARY}--\r\n").unwrap();
    body
}

fn urlencoded_body(n: usize) -> Vec<u8> {
    let pairs: Vec<String> = (0..n)
        .map(|i| format!("field{i}=value+number+{i}%21"))
        .collect();
    pairs.join("&").into_bytes()
}

/// Reads every part into `sink` (cleared first); returns the bytes read.
fn parse_into_sink(body: &[u8], sink: &mut Vec<u8>) -> usize {
    sink.clear();
    let mut reader = MultipartReader::new(body, BOUNDARY).unwrap();
    reader.set_limits(&Limits {
        max_form_parts: None,
        ..Limits::default()
    });
    while reader.next_part().unwrap().is_some() {
        while let Some(chunk) = reader.read_chunk().unwrap() {
            sink.extend_from_slice(chunk);
        }
    }
    sink.len()
}

fn unlimited() -> Limits {
    Limits {
        max_content_length: None,
        max_form_memory_size: None,
        max_form_parts: None,
    }
}

fn write_blocks(data: &[u8]) -> io::Result<std::fs::File> {
    let mut file = tempfile::tempfile()?;
    for block in data.chunks(BLOCK) {
        file.write_all(block)?;
    }
    Ok(file)
}

fn bench_large(c: &mut Criterion) {
    let data = random_bytes(50 * MIB);
    let body = file_body(&data);
    let mut sink = Vec::with_capacity(51 * MIB);
    let mut group = c.benchmark_group("forms");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("multipart_50mb_parse"), |b| {
        b.iter(|| black_box(parse_into_sink(&body, &mut sink)))
    });
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("write_50mb"), |b| {
        b.iter(|| black_box(write_blocks(&data).unwrap()))
    });
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function(BenchmarkId::from_parameter("multipart_50mb_spool"), |b| {
        b.iter(|| {
            let form = parse_multipart(&mut &body[..], BOUNDARY, &unlimited()).unwrap();
            let f = form.files.get_value("upload").unwrap();
            assert!(f.is_spooled());
            black_box(f.size())
        })
    });
    drop(body);

    // The lookalike body at two sizes: equal throughput means linear time.
    for (id, mib) in [("multipart_crlf_20mb", 20), ("multipart_crlf_80mb", 80)] {
        let crlf = file_body(&lookalike_data(mib * MIB));
        group.throughput(Throughput::Bytes(crlf.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| black_box(parse_into_sink(&crlf, &mut sink)))
        });
    }
    group.finish();
}

fn bench_fields(c: &mut Criterion) {
    let multipart = fields_body(1000);
    let urlencoded = urlencoded_body(1000);
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut group = c.benchmark_group("forms");
    group.throughput(Throughput::Elements(1000));
    group.bench_function(BenchmarkId::from_parameter("multipart_1000_fields"), |b| {
        b.iter(|| {
            let form = parse_form(&mut &multipart[..], &ct, None, &Limits::default()).unwrap();
            assert_eq!(form.form.len(), 1000);
            black_box(form)
        })
    });
    group.bench_function(BenchmarkId::from_parameter("urlencoded_1000"), |b| {
        b.iter(|| {
            let form = parse_form(
                &mut &urlencoded[..],
                "application/x-www-form-urlencoded",
                None,
                &Limits::default(),
            )
            .unwrap();
            assert_eq!(form.form.len(), 1000);
            black_box(form)
        })
    });
    group.finish();
}

/// A 50 MiB upload generated on the fly, so only the parser's memory shows in RSS.
struct Streamed {
    prefix: Vec<u8>,
    data: Vec<u8>,
    remaining: usize,
    suffix: Vec<u8>,
    stage: usize,
    at: usize,
}

impl Read for Streamed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let src: &[u8] = match self.stage {
                0 => &self.prefix[self.at..],
                1 => {
                    let n = self.remaining.min(self.data.len() - self.at);
                    &self.data[self.at..self.at + n]
                }
                2 => &self.suffix[self.at..],
                _ => return Ok(0),
            };
            if src.is_empty() {
                self.stage += 1;
                self.at = 0;
                continue;
            }
            let n = src.len().min(buf.len());
            buf[..n].copy_from_slice(&src[..n]);
            self.at += n;
            if self.stage == 1 {
                self.remaining -= n;
                if self.at == self.data.len() {
                    self.at = 0;
                }
                if self.remaining == 0 {
                    self.stage = 2;
                    self.at = 0;
                }
            }
            return Ok(n);
        }
    }
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Spools a streamed 50 MiB upload and reports the peak RSS growth in KiB (Linux only).
fn peak_rss_growth() -> Option<u64> {
    let mut input = Streamed {
        prefix: file_part_prefix(),
        data: random_bytes(BLOCK),
        remaining: 50 * MIB,
        suffix: file_part_suffix(),
        stage: 0,
        at: 0,
    };
    // Reset the high-water mark so VmHWM measures from here.
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    let before = status_kib("VmRSS:")?;
    let form = parse_multipart(&mut input, BOUNDARY, &unlimited()).ok()?;
    assert_eq!(form.files.get_value("upload")?.size(), 50 * MIB as u64);
    let peak = status_kib("VmHWM:")?;
    Some(peak.saturating_sub(before))
}

/// Whether the one-off reports are skipped (set `FORMS_BENCH_NO_REPORTS=1`, e.g. to count
/// instructions of one benchmark under callgrind).
fn skip_reports() -> bool {
    std::env::var_os("FORMS_BENCH_NO_REPORTS").is_some()
}

fn report_memory(_: &mut Criterion) {
    if skip_reports() {
        return;
    }
    if let Some(kib) = peak_rss_growth() {
        println!("forms/multipart_50mb_spool peak RSS growth: {kib} KiB (streamed body)");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion/forms");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(
            dir.join("peak_rss.json"),
            format!("{{\"multipart_50mb_spool_peak_rss_growth_kib\": {kib}}}\n"),
        );
    }
}

/// Median of `rounds` timings of each closure, run alternately so that drifting load from
/// other processes (and the page cache's writeback) hits both alike.
fn interleaved(rounds: usize, a: &mut dyn FnMut(), b: &mut dyn FnMut()) -> (f64, f64) {
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        a();
        ta.push(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        b();
        tb.push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.total_cmp(y));
        v[v.len() / 2]
    };
    (median(&mut ta), median(&mut tb))
}

/// The two ratios the targets are about, measured alternately (see [`interleaved`]):
/// spooling against the plain write, and the 80 MiB lookalike body against the 20 MiB one.
fn report_ratios(_: &mut Criterion) {
    if skip_reports() {
        return;
    }
    let data = random_bytes(50 * MIB);
    let body = file_body(&data);
    let (write, spool) = interleaved(
        11,
        &mut || drop(black_box(write_blocks(&data).unwrap())),
        &mut || {
            let form = parse_multipart(&mut &body[..], BOUNDARY, &unlimited()).unwrap();
            black_box(form);
        },
    );
    drop(body);
    let small = file_body(&lookalike_data(20 * MIB));
    let large = file_body(&lookalike_data(80 * MIB));
    let mut sink = Vec::with_capacity(81 * MIB);
    let mut sink2 = Vec::with_capacity(81 * MIB);
    let (t20, t80) = interleaved(
        7,
        &mut || {
            black_box(parse_into_sink(&small, &mut sink));
        },
        &mut || {
            black_box(parse_into_sink(&large, &mut sink2));
        },
    );
    let spool_vs_write = write / spool;
    let crlf_80_vs_20 = t80 / t20;
    println!(
        "interleaved medians: write_50mb {:.1} ms, multipart_50mb_spool {:.1} ms \
         (spooling at {:.0}% of the plain write's speed); multipart_crlf 20 MiB {:.1} ms, \
         80 MiB {:.1} ms (time ratio {:.2} for 4x the bytes)",
        write * 1e3,
        spool * 1e3,
        spool_vs_write * 100.0,
        t20 * 1e3,
        t80 * 1e3,
        crlf_80_vs_20
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion/forms");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        dir.join("interleaved.json"),
        format!(
            "{{\"write_50mb_s\": {write}, \"multipart_50mb_spool_s\": {spool}, \
             \"crlf_20mb_s\": {t20}, \"crlf_80mb_s\": {t80}}}\n"
        ),
    );
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = report_memory, report_ratios, bench_large, bench_fields
}
criterion_main!(benches);
