#!/usr/bin/env python3
"""Parse the bodies of benches/forms.rs with Werkzeug and compare with zeug's figures.

Run zeug's benchmark first (it writes criterion's estimates under target/criterion/forms/):

    cargo bench --bench forms -- --warm-up-time 1 --measurement-time 3
    python3 bench/forms_vs_werkzeug.py

zeug's figure is criterion's best sample, Werkzeug's the best of a few runs, so load from
other processes on the machine skews both the same way as far as possible.
The bodies have the same shape and sizes as the Rust ones (the 50 MiB part is random
bytes from a seeded generator; the lookalike body is built by the same recipe). Each
Werkzeug case runs a few times and the best time counts. Peak RSS growth is measured the
same way on both sides: reset the high-water mark (/proc/self/clear_refs), parse a 50 MiB
upload generated on the fly with spooling to a temporary file, read VmHWM - VmRSS.
"""

import io
import json
import os
import random
import subprocess
import sys
import time

from werkzeug.formparser import FormDataParser, MultiPartParser

MIB = 1024 * 1024
BOUNDARY = "----WebKitFormBoundaryjdSFhcARk8fyGNy6"
BLOCK = 64 * 1024
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRITERION = os.path.join(ROOT, "target", "criterion", "forms")


def prefix():
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def suffix():
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def file_body(data):
    return prefix() + data + suffix()


def lookalike_data(length):
    out = bytearray(b"\r\n")
    b = BOUNDARY.encode()
    k = 0
    while len(out) < length:
        out += b"\r\n--" + b[: k % len(b)] + b"x\r"
        k += 1
    return bytes(out[:length])


def fields_body(n):
    parts = [
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"field{i}\"\r\n\r\nvalue number {i}\r\n"
        for i in range(n)
    ]
    parts.append(f"--{BOUNDARY}--\r\n")
    return "".join(parts).encode()


def urlencoded_body(n):
    return "&".join(f"field{i}=value+number+{i}%21" for i in range(n)).encode()


def memory_sink(*args, **kwargs):
    return io.BytesIO()


def best_of(fn, runs):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def werkzeug_times():
    data = random.Random(42).randbytes(50 * MIB)
    body = file_body(data)
    crlf = file_body(lookalike_data(20 * MIB))
    crlf80 = file_body(lookalike_data(80 * MIB))
    fields = fields_body(1000)
    urlenc = urlencoded_body(1000)

    def parse_sink(b):
        parser = MultiPartParser(stream_factory=memory_sink, max_form_parts=None)
        form, files = parser.parse(io.BytesIO(b), BOUNDARY.encode(), len(b))
        assert len(files["upload"].stream.getbuffer()) > 0

    def parse_spool():
        parser = FormDataParser(max_form_parts=None)
        _, form, files = parser.parse(
            io.BytesIO(body), "multipart/form-data", len(body), {"boundary": BOUNDARY}
        )
        files["upload"].close()

    def write_plain():
        import tempfile

        with tempfile.TemporaryFile() as f:
            for i in range(0, len(data), BLOCK):
                f.write(data[i : i + BLOCK])

    def parse_fields():
        parser = FormDataParser()
        _, form, _ = parser.parse(
            io.BytesIO(fields), "multipart/form-data", len(fields), {"boundary": BOUNDARY}
        )
        assert len(form) == 1000

    def parse_urlencoded():
        parser = FormDataParser()
        _, form, _ = parser.parse(
            io.BytesIO(urlenc), "application/x-www-form-urlencoded", len(urlenc), {}
        )
        assert len(form) == 1000

    return {
        "multipart_50mb_parse": (best_of(lambda: parse_sink(body), 3), len(body)),
        "multipart_50mb_spool": (best_of(parse_spool, 3), len(body)),
        "write_50mb": (best_of(write_plain, 3), len(data)),
        "multipart_crlf_20mb": (best_of(lambda: parse_sink(crlf), 3), len(crlf)),
        "multipart_crlf_80mb": (best_of(lambda: parse_sink(crlf80), 3), len(crlf80)),
        "multipart_1000_fields": (best_of(parse_fields, 20), 1000),
        "urlencoded_1000": (best_of(parse_urlencoded, 50), 1000),
    }


def zeug_times():
    out = {}
    for name in [
        "multipart_50mb_parse",
        "multipart_50mb_spool",
        "write_50mb",
        "multipart_crlf_20mb",
        "multipart_crlf_80mb",
        "multipart_1000_fields",
        "urlencoded_1000",
    ]:
        path = os.path.join(CRITERION, name, "new", "sample.json")
        try:
            with open(path) as f:
                sample = json.load(f)
        except OSError:
            continue
        # The best sample (time per iteration), as the Werkzeug side takes its best run.
        out[name] = min(t / n for t, n in zip(sample["times"], sample["iters"])) / 1e9
    return out


class Streamed:
    """A 50 MiB upload made on the fly, read by Werkzeug in its buffer-sized pieces."""

    def __init__(self):
        self.parts = [prefix()]
        block = random.Random(7).randbytes(BLOCK)
        self.parts += [block] * (50 * MIB // BLOCK)
        self.parts.append(suffix())
        self.index = 0
        self.pending = b""

    def read(self, n=-1):
        while len(self.pending) < n and self.index < len(self.parts):
            self.pending += self.parts[self.index]
            self.index += 1
        chunk, self.pending = self.pending[:n], self.pending[n:]
        return chunk


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def measure_rss_child():
    stream = Streamed()
    total = sum(len(p) for p in stream.parts)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = status_kib("VmRSS:")
    parser = FormDataParser(max_form_parts=None)
    _, form, files = parser.parse(stream, "multipart/form-data", total, {"boundary": BOUNDARY})
    peak = status_kib("VmHWM:")
    files["upload"].close()
    print(peak - before)


def werkzeug_rss_kib():
    res = subprocess.run(
        [sys.executable, __file__, "--rss-child"], capture_output=True, text=True, check=True
    )
    return int(res.stdout.strip())


def main():
    if "--rss-child" in sys.argv:
        measure_rss_child()
        return
    wz = werkzeug_times()
    zg = zeug_times()
    print(f"{'benchmark':24} {'werkzeug':>14} {'zeug':>14} {'zeug speed-up':>14}")
    for name, (secs, units) in wz.items():
        unit = "fields" if units == 1000 else "bytes"
        def rate(s):
            if unit == "bytes":
                return f"{units / s / 1e9:6.2f} GB/s"
            return f"{s / units * 1e6:6.2f} us/f"
        z = zg.get(name)
        zs = rate(z) if z else "-"
        ratio = f"{secs / z:10.1f}x" if z else "-"
        print(f"{name:24} {rate(secs):>14} {zs:>14} {ratio:>14}")
    try:
        with open(os.path.join(CRITERION, "interleaved.json")) as f:
            il = json.load(f)
        print(
            f"interleaved medians: zeug spooling at {il['write_50mb_s'] / il['multipart_50mb_spool_s']:.0%} "
            f"of the plain write's speed (target >= 80%); lookalike body time(80 MiB) / "
            f"time(20 MiB) {il['crlf_80mb_s'] / il['crlf_20mb_s']:.2f} (linear: about 4)"
        )
    except OSError:
        pass
    if "multipart_50mb_spool" in zg and "write_50mb" in zg:
        spool_bps = 1 / zg["multipart_50mb_spool"] * wz["multipart_50mb_spool"][1]
        write_bps = 1 / zg["write_50mb"] * wz["write_50mb"][1]
        print(f"best samples: zeug spooling speed / plain write speed: {spool_bps / write_bps:.0%}")
    if "multipart_crlf_20mb" in zg and "multipart_crlf_80mb" in zg:
        t20, t80 = zg["multipart_crlf_20mb"], zg["multipart_crlf_80mb"]
        w20, w80 = wz["multipart_crlf_20mb"][0], wz["multipart_crlf_80mb"][0]
        print(
            f"best samples: lookalike body, time(80 MiB) / time(20 MiB): zeug {t80 / t20:.2f}, "
            f"werkzeug {w80 / w20:.2f} (linear: about 4)"
        )
    wz_rss = werkzeug_rss_kib()
    print(f"peak RSS growth, 50 MiB upload spooled: werkzeug {wz_rss / 1024:.1f} MiB", end="")
    try:
        with open(os.path.join(CRITERION, "peak_rss.json")) as f:
            z_rss = json.load(f)["multipart_50mb_spool_peak_rss_growth_kib"]
        print(f", zeug {z_rss / 1024:.1f} MiB (target < 16 MiB)")
    except OSError:
        print()


if __name__ == "__main__":
    main()
