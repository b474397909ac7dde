#!/usr/bin/env python3
"""Side-by-side check of two httpbin servers: the Python package and the zeug example.

    pip install httpbin
    python3 -c 'import httpbin; from werkzeug.serving import run_simple; \
        run_simple("127.0.0.1", 5001, httpbin.app, threaded=True)' &
    PORT=5000 cargo run --release --example httpbin &
    python3 examples/httpbin/compare.py http://127.0.0.1:5001 http://127.0.0.1:5000

Sends the same requests to both and compares what a client sees: the status, the set of
response header names (values too, where they are deterministic), and the body — exactly
for deterministic bodies, by JSON keys and value types (and values, where they do not
depend on the server) for the echo endpoints. Prints one line per request and exits
non-zero when something differs. Differences listed in docs/httpbin.md ("Where it differs
from httpbin") are expected and marked as such.
"""

import http.client
import json
import sys
import urllib.parse
import zlib

# Headers that legitimately differ between two servers.
IGNORED_HEADERS = {"date", "server", "connection", "keep-alive", "transfer-encoding"}
# Header values that are random or time-dependent.
VOLATILE_VALUES = {"etag", "last-modified", "www-authenticate", "set-cookie", "content-length"}

BASIC = "Basic dXNlcjpwYXNzd2Q="  # user:passwd

# (method, path, headers, body, how to compare the body)
#   "exact": bytes must match;  "json": keys, types and stable values;  "len": same length;
#   "none": only status and headers.
CASES = [
    ("GET", "/get?a=1&a=2&b=%C3%A9&c", {}, None, "json"),
    ("GET", "/get", {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}, None, "json"),
    ("GET", "/headers?show_env=1", {"X-Forwarded-For": "1.2.3.4", "X-B3-Traceid": "7"}, None, "json"),
    ("GET", "/ip", {}, None, "json"),
    ("GET", "/user-agent", {"User-Agent": "compare/1"}, None, "json"),
    ("GET", "/uuid", {}, None, "json"),
    ("POST", "/post?x=1", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1&a=2&b=%E2%9C%93", "json"),
    ("POST", "/post", {"Content-Type": "text/plain"}, b'{"b": [1, 2.5, 1e100], "a": null}', "json"),
    ("POST", "/post", {"Content-Type": "application/octet-stream"}, b"\xff\xfe{", "json"),
    ("PUT", "/put", {"Content-Type": "application/json"}, b'{"k": "v"}', "json"),
    ("PATCH", "/patch", {}, b"x", "json"),
    ("DELETE", "/delete", {}, None, "json"),
    ("GET", "/post", {}, None, "none"),
    ("OPTIONS", "/get", {"Origin": "https://o.example", "Access-Control-Request-Headers": "X-A"}, None, "exact"),
    ("TRACE", "/anything/a%20b/%E2%9C%93?q=%E2%9C%93%26", {}, None, "json"),
    ("GET", "/status/201", {}, None, "exact"),
    ("POST", "/status/204", {}, None, "exact"),
    ("GET", "/status/302", {}, None, "exact"),
    ("GET", "/status/401", {}, None, "exact"),
    ("GET", "/status/406", {}, None, "exact"),
    ("GET", "/status/407", {}, None, "exact"),
    ("GET", "/status/418", {}, None, "none"),
    ("GET", "/status/abc", {}, None, "exact"),
    ("GET", "/status/200:0,201:1", {}, None, "exact"),
    ("GET", "/redirect/3", {}, None, "exact"),
    ("GET", "/redirect/2?absolute=true", {}, None, "len"),
    ("GET", "/relative-redirect/2", {}, None, "exact"),
    ("GET", "/absolute-redirect/1", {}, None, "len"),
    ("PATCH", "/redirect-to?url=http://example.com/&status_code=307", {}, None, "exact"),
    ("GET", "/cookies", {"Cookie": "a=1; b=2; __utma=3"}, None, "exact"),
    ("GET", "/cookies/set?a=1", {}, None, "exact"),
    ("GET", "/cookies/set/n/v", {}, None, "exact"),
    ("GET", "/cookies/delete?a", {}, None, "exact"),
    ("GET", "/basic-auth/user/passwd", {}, None, "exact"),
    ("GET", "/basic-auth/user/passwd", {"Authorization": BASIC}, None, "exact"),
    ("GET", "/hidden-basic-auth/user/passwd", {}, None, "exact"),
    ("GET", "/bearer", {}, None, "exact"),
    ("GET", "/bearer", {"Authorization": "Bearer t0k"}, None, "exact"),
    ("GET", "/digest-auth/auth/user/passwd/SHA-256", {}, None, "exact"),
    ("GET", "/stream/3", {}, None, "len"),
    ("GET", "/stream-bytes/100?seed=7&chunk_size=10", {}, None, "exact"),
    ("GET", "/bytes/64?seed=42", {}, None, "exact"),
    ("GET", "/delay/0.1", {}, None, "json"),
    ("GET", "/drip?numbytes=5&duration=0.2&code=201", {}, None, "exact"),
    ("GET", "/range/64", {"Range": "bytes=10-19"}, None, "exact"),
    ("GET", "/range/64", {"Range": "bytes=-5"}, None, "exact"),
    ("GET", "/range/64", {"Range": "bytes=70-80"}, None, "exact"),
    ("GET", "/range/0", {}, None, "exact"),
    ("GET", "/links/4/2", {}, None, "exact"),
    ("GET", "/base64/SFRUUEJJTiBpcyBhd2Vzb21l", {}, None, "exact"),
    ("GET", "/base64/YQ", {}, None, "exact"),
    ("GET", "/gzip", {}, None, "json"),
    ("GET", "/deflate", {}, None, "json"),
    ("GET", "/brotli", {}, None, "none"),
    ("GET", "/encoding/utf8", {}, None, "none"),
    ("GET", "/html", {}, None, "none"),
    ("GET", "/json", {}, None, "exact"),
    ("GET", "/xml", {}, None, "none"),
    ("GET", "/robots.txt", {}, None, "exact"),
    ("GET", "/deny", {}, None, "none"),
    ("GET", "/cache", {}, None, "json"),
    ("GET", "/cache", {"If-None-Match": "x"}, None, "exact"),
    ("GET", "/cache/30", {}, None, "json"),
    ("GET", "/etag/abc", {"If-None-Match": '"abc"'}, None, "exact"),
    ("GET", "/etag/abc", {"If-Match": '"x"'}, None, "exact"),
    ("GET", "/response-headers?a=1&a=2&X-T=t", {}, None, "exact"),
    ("GET", "/forms/post", {}, None, "none"),
    ("GET", "/nope", {}, None, "none"),
]


def fetch(base, method, path, headers, body):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res.status, [(k.lower(), v) for k, v in res.getheaders()], data


def decode(headers, data):
    enc = dict(headers).get("content-encoding")
    if enc == "gzip":
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    if enc == "deflate":
        return zlib.decompress(data)
    return data


# JSON values that depend on the server (ports, random ids, the Host header).
VOLATILE_KEYS = {"url", "uuid", "Host", "Content-Length", "Content-Type"}


def json_diff(a, b, where="$"):
    if type(a) is not type(b):
        return [f"{where}: {type(a).__name__} vs {type(b).__name__}"]
    if isinstance(a, dict):
        out = []
        if set(a) != set(b):
            out.append(f"{where}: keys {sorted(set(a) ^ set(b))}")
        for k in set(a) & set(b):
            if k in VOLATILE_KEYS:
                continue
            out += json_diff(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in json_diff(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a_base, b_base = sys.argv[1], sys.argv[2]
    failures = 0
    for method, path, headers, body, how in CASES:
        sa, ha, da = fetch(a_base, method, path, headers, body)
        sb, hb, db = fetch(b_base, method, path, headers, body)
        problems = []
        if sa != sb:
            problems.append(f"status {sa} vs {sb}")
        names_a = {k for k, _ in ha} - IGNORED_HEADERS
        names_b = {k for k, _ in hb} - IGNORED_HEADERS
        if names_a != names_b:
            problems.append(f"headers only in A {sorted(names_a - names_b)}, only in B {sorted(names_b - names_a)}")
        for name in sorted(names_a & names_b - VOLATILE_VALUES):
            va = sorted(v for k, v in ha if k == name)
            vb = sorted(v for k, v in hb if k == name)
            if name == "allow":  # a set: Werkzeug's order varies
                va = [sorted(m.strip() for v in va for m in v.split(","))]
                vb = [sorted(m.strip() for v in vb for m in v.split(","))]
            if name == "location":
                va = [v.replace(a_base, "") for v in va]
                vb = [v.replace(b_base, "") for v in vb]
            if va != vb:
                problems.append(f"{name}: {va} vs {vb}")
        da, db = decode(ha, da), decode(hb, db)
        if how == "exact" and da.replace(a_base.encode(), b"") != db.replace(b_base.encode(), b""):
            problems.append(f"body {da[:60]!r} vs {db[:60]!r}")
        elif how == "len" and abs(len(da) - len(db)) > 16:
            problems.append(f"body length {len(da)} vs {len(db)}")
        elif how == "json":
            try:
                problems += json_diff(json.loads(da), json.loads(db))
            except ValueError as e:
                problems.append(f"not JSON: {e}")
        status = "ok  " if not problems else "DIFF"
        failures += bool(problems)
        print(f"{status} {method:7} {path}" + ("".join(f"\n       {p}" for p in problems)))
    print(f"\n{len(CASES) - failures}/{len(CASES)} requests answered alike")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
